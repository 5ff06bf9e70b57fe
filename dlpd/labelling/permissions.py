"""Who may put a label on a path and who may take it off. Pure.

Setting a label declares data controlled, so it is the data's owner's call (or root's):
the owner of the file, or of the directory whose tree is labelled. Removing one lifts a
control, so only whoever set it, root, or a member of ``[daemon] label_admin_group`` (lab
IT) may. The owner of a path checked here is always the ``fstat`` of what the service
opened, never a path looked up again.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlpd.labelling.model import Assignment, Caller


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str


def may_set(caller: Caller, owner_uid: int, *, is_dir: bool, path: str) -> Decision:
    """``caller`` labels ``path`` (owned by ``owner_uid``). ``path`` is for the reason
    only: a display form."""
    what = "directory" if is_dir else "file"
    if caller.is_root:
        return Decision(True, "root may label any path")
    if caller.uid == owner_uid:
        return Decision(True, f"{caller.name} owns the {what}")
    return Decision(False, f"{caller.name} (uid {caller.uid}) does not own the {what} "
                           f"{path} (owner uid {owner_uid}); only its owner or root may "
                           "label it")


def may_remove(caller: Caller, assignment: Assignment, admin_gid: int | None) -> Decision:
    """``caller`` takes ``assignment`` off. ``admin_gid``: the label admin group, if any."""
    if caller.is_root:
        return Decision(True, "root may remove any label")
    if caller.uid == assignment.set_uid:
        return Decision(True, f"{caller.name} set this label")
    if admin_gid is not None and admin_gid in caller.gids:
        return Decision(True, f"{caller.name} is in the label admin group (gid {admin_gid})")
    admins = ("" if admin_gid is None
              else f", or a member of the label admin group (gid {admin_gid})")
    return Decision(False, f"{caller.name} (uid {caller.uid}) did not set label "
                           f"{assignment.label!r} on {assignment.path} ({assignment.set_by} "
                           f"did); only its setter, root{admins} may remove it")
