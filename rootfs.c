/* rootfs.c - an image's root filesystem, as containerd gives it: a list of
 * mounts (the snapshot of `ctr run IMAGE`: overlay, or a bind for the
 * native snapshotter) in the CreateTaskRequest. We mount them on
 * BUNDLE/rootfs before runc create, where config.json's root.path points,
 * and unmount them when the task is deleted, as containerd-shim-runc-v2
 * does (containerd's mount.Mount and mount.UnmountAll). Part of the
 * containerd front end: the core never mounts anything. */
#include "containerd.h"
#include "task.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* containerd's table (mount_linux.go, parseMountOptions): an option that
 * mount(2) knows as a flag sets or clears it; any other is data. */
static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} flag_options[] = {
	{ "async", true, MS_SYNCHRONOUS },
	{ "atime", true, MS_NOATIME },
	{ "bind", false, MS_BIND },
	{ "defaults", false, 0 },
	{ "dev", true, MS_NODEV },
	{ "diratime", true, MS_NODIRATIME },
	{ "dirsync", false, MS_DIRSYNC },
	{ "exec", true, MS_NOEXEC },
	{ "mand", false, MS_MANDLOCK },
	{ "noatime", false, MS_NOATIME },
	{ "nodev", false, MS_NODEV },
	{ "nodiratime", false, MS_NODIRATIME },
	{ "noexec", false, MS_NOEXEC },
	{ "nomand", true, MS_MANDLOCK },
	{ "norelatime", true, MS_RELATIME },
	{ "nostrictatime", true, MS_STRICTATIME },
	{ "nosuid", false, MS_NOSUID },
	{ "rbind", false, MS_BIND | MS_REC },
	{ "relatime", false, MS_RELATIME },
	{ "remount", false, MS_REMOUNT },
	{ "ro", false, MS_RDONLY },
	{ "rw", true, MS_RDONLY },
	{ "strictatime", false, MS_STRICTATIME },
	{ "suid", true, MS_NOSUID },
	{ "sync", false, MS_SYNCHRONOUS },
	{ "private", false, MS_PRIVATE },
	{ "rprivate", false, MS_PRIVATE | MS_REC },
	{ "shared", false, MS_SHARED },
	{ "rshared", false, MS_SHARED | MS_REC },
	{ "slave", false, MS_SLAVE },
	{ "rslave", false, MS_SLAVE | MS_REC },
	{ "unbindable", false, MS_UNBINDABLE },
	{ "runbindable", false, MS_UNBINDABLE | MS_REC },
};

int mount_options_parse(char *const *options, size_t count, unsigned long *flags, char *data,
			size_t data_len)
{
	size_t used = 0;

	*flags = 0;
	data[0] = '\0';
	for (size_t i = 0; i < count; i++) {
		size_t k, len = strlen(options[i]);

		for (k = 0; k < sizeof(flag_options) / sizeof(flag_options[0]); k++) {
			if (strcmp(options[i], flag_options[k].name) == 0)
				break;
		}
		if (k < sizeof(flag_options) / sizeof(flag_options[0])) {
			if (flag_options[k].clear)
				*flags &= ~flag_options[k].flag;
			else
				*flags |= flag_options[k].flag;
			continue;
		}
		if (used + (used > 0) + len + 1 > data_len) {
			errno = E2BIG;
			return -1;
		}
		if (used > 0)
			data[used++] = ',';
		memcpy(data + used, options[i], len + 1);
		used += len;
	}
	return 0;
}

int overlay_lowerdir_compact(char *data, char *dir, size_t dir_len)
{
	char *option = data, *value, *end, *layer, *out;
	size_t common, prefix;

	dir[0] = '\0';
	while (option && strncmp(option, "lowerdir=", strlen("lowerdir=")) != 0) {
		option = strchr(option, ',');
		option = option ? option + 1 : NULL;
	}
	if (!option)
		return 0;
	value = option + strlen("lowerdir=");
	end = value + strcspn(value, ",");
	if (!memchr(value, ':', (size_t)(end - value)))
		return 0; /* one layer: nothing to shorten */
	/* What all layers share, back to a slash: their parent directory
	 * (the snapshots' ids are digits, so "snapshots/1" is not one). */
	common = (size_t)(end - value);
	for (layer = value; layer < end; layer += strcspn(layer, ":,") + 1) {
		size_t i = 0;
		while (i < common && layer[i] == value[i] && layer[i] != ':' && layer[i] != ',' && layer[i])
			i++;
		common = i;
	}
	for (prefix = common; prefix > 0 && value[prefix - 1] != '/'; prefix--)
		;
	if (prefix <= 1 || prefix + 1 > dir_len)
		return 0; /* nothing in common but "/" */
	memcpy(dir, value, prefix);
	dir[prefix] = '\0';
	/* Each layer without it, in place: the string only shrinks. */
	out = value;
	for (layer = value; layer < end;) {
		size_t len = strcspn(layer, ":,");
		memmove(out, layer + prefix, len - prefix);
		out += len - prefix;
		layer += len;
		if (layer < end)
			*out++ = *layer++; /* the ':' */
	}
	memmove(out, end, strlen(end) + 1);
	return 1;
}

/* One mount on target, as containerd's Mount.Mount: the mount with every
 * flag but the propagation ones, then the propagation, then for a
 * read-only bind the remount that makes it so. */
static int mount_one(const Task__Mount *m, const char *target)
{
	const unsigned long propagation = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
	long page = sysconf(_SC_PAGESIZE);
	size_t data_len = 1;
	char *data, dir[4096];
	unsigned long flags, plain;
	int from = -1, rc = -1;

	for (size_t i = 0; i < m->n_options; i++)
		data_len += strlen(m->options[i]) + 1;
	data = malloc(data_len);
	if (!data || mount_options_parse(m->options, m->n_options, &flags, data, data_len) < 0)
		goto out;
	/* The kernel takes a page of data. An overlay of many layers needs
	 * more, and containerd then names its layers from their parent
	 * directory, mounting from inside it; so do we. (512: its margin.) */
	dir[0] = '\0';
	if (strcmp(m->type, "overlay") == 0 && strlen(data) >= (size_t)page - 512)
		overlay_lowerdir_compact(data, dir, sizeof(dir));
	if (strlen(data) >= (size_t)page) {
		errno = E2BIG;
		goto out;
	}
	if (dir[0] && ((from = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || chdir(dir) < 0))
		goto out;
	plain = flags & ~propagation;
	if (!(flags & MS_REMOUNT) || data[0]) {
		if (mount(m->source, target, m->type, plain, data) < 0)
			goto out;
	}
	if ((flags & propagation) && mount("", target, "", flags & (propagation | MS_REC | MS_SILENT), "") < 0)
		goto out;
	if ((plain & (MS_BIND | MS_RDONLY)) == (MS_BIND | MS_RDONLY) &&
	    mount("", target, "", plain | MS_REMOUNT, "") < 0)
		goto out;
	rc = 0;
out:
	if (from >= 0) {
		int saved = errno;
		if (fchdir(from) < 0)
			rc = -1; /* (our relative paths would go astray) */
		close(from);
		errno = saved;
	}
	free(data);
	return rc;
}

int rootfs_mount(const char *bundle, Task__Mount *const *mounts, size_t count, char *error,
		 size_t error_len)
{
	char target[4096];

	if (count == 0)
		return 0; /* ctr run --rootfs DIR: config.json names the directory */
	snprintf(target, sizeof(target), "%s/rootfs", bundle);
	if (mkdir(target, 0711) < 0 && errno != EEXIST) {
		snprintf(error, error_len, "make %s: %s", target, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (mount_one(mounts[i], target) < 0) {
			snprintf(error, error_len, "mount %s (%s) on %s: %s%s", mounts[i]->source,
				 mounts[i]->type, target, strerror(errno),
				 errno == E2BIG ? " (options longer than a page, even shortened)" : "");
			rootfs_unmount(bundle);
			return -1;
		}
	}
	return 0;
}

int rootfs_unmount(const char *bundle)
{
	char target[4096];

	snprintf(target, sizeof(target), "%s/rootfs", bundle);
	/* Every mount stacked there, as UnmountAll does; one still busy
	 * (a process of the container's lingering) is detached. */
	for (int stacked = 0; stacked < 64; stacked++) {
		if (umount2(target, UMOUNT_NOFOLLOW) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			return 0; /* nothing (more) mounted there */
		if (errno != EBUSY || umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return -1;
	}
	return 0;
}
