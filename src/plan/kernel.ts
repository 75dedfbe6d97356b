// Kernel feature checks by release, for features the probe does not test directly.

/** True when `release` (uname -r, e.g. "6.18.0-rc1") is at least major.minor. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

/** mount_setattr(2) exists from Linux 5.12 (open_tree and move_mount from 5.2). */
export function kernelHasMountSetattr(release: string): boolean {
  return kernelAtLeast(release, 5, 12);
}
