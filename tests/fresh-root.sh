#!/usr/bin/env bash
# fresh-root.sh: the README's two commands on a fresh, minimal Debian 12,
# without make or a compiler: a root made by debootstrap --variant=minbase
# from Debian's registry, entered through a mount namespace of its own
# with pivot_root (so runc, inside, can pivot too), with a clone of this
# repository in it. Optional, like make bench (`make fresh-root`): it
# downloads some hundreds of MB and takes minutes, too long for make check.
#
# Usage: tests/fresh-root.sh [demo|check]...   (default: demo check; as root)
# Environment: FRESH_ROOT (default build/fresh-root: kept between runs, so
# debootstrap runs once; delete it for a new one), MIRROR (default
# http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
root=${FRESH_ROOT:-$repo/build/fresh-root}
mirror=${MIRROR:-http://deb.debian.org/debian}
commands=("$@")
((${#commands[@]})) || commands=(demo check)

((EUID == 0)) || { echo "fresh-root.sh: needs root" >&2; exit 2; }
command -v debootstrap >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
if [[ ! -x $root/usr/bin/apt-get ]]; then
	echo "fresh-root: debootstrap --variant=minbase bookworm $root"
	rm -rf -- "$root"
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$repo/build/fresh-root.log" 2>&1 ||
		{ tail -n 20 "$repo/build/fresh-root.log" >&2; exit 1; }
fi
for tool in make gcc cc; do
	if chroot "$root" sh -c "command -v $tool" >/dev/null 2>&1; then
		echo "fresh-root: note: $tool is already in $root (an earlier run installed it)"
	fi
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
rm -rf -- "$root/root/shim"
git clone -q "$repo" "$root/root/shim"

for command in "${commands[@]}"; do
	echo "fresh-root: ./run $command"
	# A namespace of our own: the root bind-mounted on itself and pivoted
	# into, the host's /proc, /sys and /dev under it; all undone when the
	# namespace goes.
	unshare --mount --propagation private sh -ec '
		root=$1 command=$2
		mount --bind "$root" "$root"
		mount -t proc proc "$root/proc"
		mount --rbind /sys "$root/sys"
		mount --rbind /dev "$root/dev"
		mount -t tmpfs tmpfs "$root/run"
		mount -t tmpfs tmpfs "$root/tmp"
		cd "$root"
		mkdir -p .old-root
		pivot_root . .old-root
		umount -l /.old-root
		rmdir /.old-root
		exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			sh -c "cd /root/shim && ./run $command"
	' sh "$root" "$command"
done
echo "fresh-root: ${commands[*]}: passed"
