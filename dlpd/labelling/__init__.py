"""Labels people put on data: who may (permissions), what a path carries (effective),
marker files (marker), the xattr mirror (xattrs), and the one entry point the CLI and the
control socket share (service)."""
