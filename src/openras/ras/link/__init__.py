"""Links the daemon plumbs into the kernel (TUN interfaces)."""
