""""Select all N matching" on the user list: every page of the filtered list, confirmed with the count."""

from __future__ import annotations

import re

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import User

BACK = "/users/?q=temp&sort=-username"


def active(app, prefix: str) -> dict[str, bool]:
    with app.app_context():
        return dict(db.session.execute(select(User.username, User.active)
                                       .where(User.username.startswith(prefix))).all())


def test_all_matching_users_are_listed_for_confirmation_then_deactivated(app, as_admin, make_user):
    for n in range(25):
        make_user(f"temp{n:02d}")
    make_user("keeper")
    listing = as_admin.get(BACK).text
    assert "Select all 25 matching rows" in listing and listing.count('name="ids"') == 20

    confirm = as_admin.post("/users/bulk", data={"action": "deactivate", "all_matching": "1", "back": BACK})
    assert confirm.status_code == 200 and "Deactivate 25 users?" in confirm.text
    ids = re.findall(r'name="ids" value="(\d+)"', confirm.text)
    assert len(ids) == 25 and all(active(app, "temp").values())  # nothing changes before the answer

    done = as_admin.post("/users/bulk", data={"action": "deactivate", "ids": ids, "confirmed": "1",
                                              "back": BACK}, follow_redirects=True)
    assert "25 users updated." in done.text
    assert not any(active(app, "temp").values()) and active(app, "keeper") == {"keeper": True}


def test_all_matching_leaves_out_your_own_account_and_says_so(app, as_admin, admin, make_user):
    make_user("other")
    answer = as_admin.post("/users/bulk", data={"action": "delete", "all_matching": "1", "back": "/users/"},
                           follow_redirects=True)
    assert "Delete 1 user?" in answer.text and "admin was skipped" in answer.text
    assert active(app, "admin") == {"admin": True}


def test_all_matching_with_a_filter_that_matches_nothing_changes_nothing(app, as_admin, make_user):
    make_user("temp01")
    answer = as_admin.post("/users/bulk", data={"action": "activate", "all_matching": "1",
                                                "back": "/users/?q=nobody"}, follow_redirects=True)
    assert "Select at least one user." in answer.text
