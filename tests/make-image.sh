#!/usr/bin/env bash
# make-image.sh ROOTFS OUT NAME [LAYERS]: write OUT, an OCI image archive
# named NAME (for `ctr images import`) whose first uncompressed layer holds
# ROOTFS, and each of LAYERS-1 more (default: none) one file, /layers/K,
# so the containerd tests can run an image without pulling one: the task's
# root filesystem then comes to the shim as a snapshot's mounts.
set -euo pipefail
export LC_ALL=C

(($# == 3 || $# == 4)) || { echo "usage: make-image.sh ROOTFS OUT NAME [LAYERS]" >&2; exit 2; }
rootfs=$1 out=$2 name=$3 count=${4:-1}
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

diff_ids='' layers=''
for ((k = 1; k <= count; k++)); do
	if ((k == 1)); then
		tar --sort=name --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf "$work/layer" .
	else
		mkdir -p "$work/files/layers"
		echo "layer $k" >"$work/files/layers/$k"
		tar --numeric-owner --owner=0 --group=0 -C "$work/files" -cf "$work/layer" "layers/$k"
		rm -f -- "$work/files/layers/$k"
	fi
	read -r digest size < <(blob "$work/layer")
	diff_ids+="${diff_ids:+,}\"sha256:$digest\""
	layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$digest\",\"size\":$size}"
done
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
	"$diff_ids" >"$work/config"
read -r config config_size < <(blob "$work/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[%s]}' \
	"$config" "$config_size" "$layers" >"$work/manifest"
read -r manifest manifest_size < <(blob "$work/manifest")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
	"$manifest" "$manifest_size" "$name" "${name##*:}" >"$work/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
tar -C "$work" -cf "$out" oci-layout index.json blobs
