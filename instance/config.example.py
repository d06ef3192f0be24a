# Copy to instance/config.py and adjust. Environment variables WEBAPP_<NAME>
# override anything set here; see webapp/config.py for every default.

# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://webapp@127.0.0.1/webapp"
# SECRET_KEY = "..."                 # default: generated once into instance/secret_key
# SESSION_COOKIE_SECURE = True       # behind HTTPS
# REMEMBER_COOKIE_SECURE = True
# BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"   # how times are shown; storage is UTC
# PAGE_SIZES = (20, 50, 100)
# LOGIN_MAX_FAILURES = 5
# LOGIN_FAILURE_WINDOW_SECONDS = 900
# PROXY_FIX_X_FOR = 1                # one trusted reverse proxy sets X-Forwarded-For
