#!/usr/bin/env bash
# prepare.sh - populate a minimal busybox root filesystem for the example bundle.
#
# Usage: prepare.sh [ROOTFS_DIR]   (default: the rootfs/ directory next to this script)
#
# Creates ROOTFS_DIR/{bin,proc,sys,dev,tmp,etc}, copies the host's static
# /bin/busybox into ROOTFS_DIR/bin and symlinks every applet it provides
# (`busybox --list`) to it. Safe to run more than once.
set -euo pipefail

BUSYBOX=/bin/busybox
script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
rootfs=${1:-"$script_dir/rootfs"}

if [[ ! -x $BUSYBOX ]]; then
    echo "prepare.sh: $BUSYBOX not found; install busybox-static: apt-get install busybox-static" >&2
    exit 1
fi

mkdir -p -- "$rootfs"/{bin,proc,sys,dev,tmp,etc}
chmod 1777 -- "$rootfs/tmp"

# Copy to a temporary name and rename, so rerunning never writes through an
# existing file that may be in use.
cp -f -- "$BUSYBOX" "$rootfs/bin/busybox.tmp.$$"
chmod 0755 -- "$rootfs/bin/busybox.tmp.$$"
mv -f -- "$rootfs/bin/busybox.tmp.$$" "$rootfs/bin/busybox"

count=0
while IFS= read -r applet; do
    [[ -n $applet && $applet != busybox ]] || continue
    ln -sfn busybox "$rootfs/bin/$applet"
    count=$((count + 1))
done < <("$BUSYBOX" --list)

echo "prepare.sh: installed busybox and $count applet links into $rootfs"
