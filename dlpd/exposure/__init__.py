"""Who could read a labelled file: POSIX modes, ACLs and group membership against a
label's ``readers``.

``acl`` (the kernel's ACL xattr format), ``model`` and ``evaluate`` are pure;
``accounts`` (pwd/grp) and ``reading`` (stat and xattrs through descriptors) are the
adapters; ``check.exposure_of`` puts them together for one path.
"""
