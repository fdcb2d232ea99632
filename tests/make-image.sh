#!/usr/bin/env bash
# make-image.sh ROOTFS OUT NAME: write OUT, an OCI image archive of one
# uncompressed layer holding ROOTFS, named NAME (for `ctr images import`),
# so the containerd tests can run an image without pulling one: the task's
# root filesystem then comes to the shim as a snapshot's mounts.
set -euo pipefail
export LC_ALL=C

(($# == 3)) || { echo "usage: make-image.sh ROOTFS OUT NAME" >&2; exit 2; }
rootfs=$1 out=$2 name=$3
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
mkdir -p "$work/blobs/sha256"

# blob FILE: move FILE into blobs/ under its digest; print "DIGEST SIZE".
blob() {
	local digest size
	digest=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv -- "$1" "$work/blobs/sha256/$digest"
	echo "$digest $size"
}

tar --sort=name --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf "$work/layer" .
read -r layer layer_size < <(blob "$work/layer")
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$layer" >"$work/config"
read -r config config_size < <(blob "$work/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
	"$config" "$config_size" "$layer" "$layer_size" >"$work/manifest"
read -r manifest manifest_size < <(blob "$work/manifest")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
	"$manifest" "$manifest_size" "$name" "${name##*:}" >"$work/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
tar -C "$work" -cf "$out" oci-layout index.json blobs
