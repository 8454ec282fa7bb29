/* Docker: dockerd writes <docker-root>/containers/<id>/config.v2.json when
 * it creates a container, before containerd asks the runtime to create it.
 * `Image` is the image ID (sha256:...), `Config.Image` the name it was run
 * by.  Docker's container IDs are 64 hex digits, so nothing else is looked
 * up and no path is built from anything else.
 *
 * Anyone can give a bundle the ID of a Docker container, so that record
 * counts only when it is for this bundle's root filesystem: dockerd keeps
 * the ID of the container's read-write layer in
 * <docker-root>/image/<Driver>/layerdb/mounts/<id>/mount-id, mounts that
 * layer at a path fixed by the graph driver, and hands that path to the
 * runtime as config.json's root.path.
 */
#include "identify/engines.h"
#include "base/safe_open.h"
#include "base/json.h"
#include "base/file.h"
#include "base/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define DOCKER_ROOT "/var/lib/docker"

/* Opens ROOT/containers/ID/config.v2.json with no symlink below ROOT.
   Returns the fd, -1 with errno ENOENT when absent, or <-1 on error.  */
static int
open_config_v2 (const char *root, const char *id, pg_error_t *err)
{
  cleanup_close int rootfd = -1;
  cleanup_free char *path = NULL;
  int fd = -1;

  /* No symlink, ".." or mount below ROOT (base/safe_open.h); non-blocking
     so that a FIFO is refused by the caller's read, not waited on.  */
  xasprintf (&path, "containers/%s/config.v2.json", id);
  rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd >= 0)
    fd = pg_safe_openat (rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, PG_RESOLVE_BENEATH);
  if (fd >= 0)
    {
      struct stat st;
      if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && fcntl (fd, F_SETFL, O_RDONLY) == 0)
        return fd;
      close (fd);
      pg_make_error (err, 0, "%s/%s: not a regular file", root, path);
      return -2;
    }
  /* A symlink on the way (ELOOP) is not dockerd's: as if absent.  */
  if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
    return -1;
  pg_make_error (err, errno, "%s/containers/%s/config.v2.json", root, id);
  return -2;
}

/* Where Docker's graph drivers mount a container's layer MOUNT_ID, below
   the docker root.  */
static char *
driver_rootfs (const char *driver, const char *mount_id)
{
  static const struct
  {
    const char *driver, *below, *inside;
  } layouts[] = {
    { "overlay2", "overlay2", "/merged" },
    { "fuse-overlayfs", "fuse-overlayfs", "/merged" },
    { "vfs", "vfs/dir", "" },
    { "btrfs", "btrfs/subvolumes", "" },
  };
  char *rel = NULL;

  for (size_t i = 0; i < sizeof (layouts) / sizeof (layouts[0]); i++)
    if (strcmp (driver, layouts[i].driver) == 0)
      {
        xasprintf (&rel, "%s/%s%s", layouts[i].below, mount_id, layouts[i].inside);
        return rel;
      }
  return NULL;
}

/* Whether config.v2.json DOC's container is the one with this rootfs.
   Returns 1 yes, 0 no (ID->conflict says why), <0 on error.  */
static int
docker_rootfs_matches (const char *root, json_t *doc, const struct pg_oci_state *st, struct pg_identity *id,
                       pg_error_t *err)
{
  const char *driver = pg_json_string (doc, "Driver");
  cleanup_close int rootfd = -1;
  cleanup_free char *path = NULL;
  cleanup_free char *name = NULL;
  cleanup_free char *mount_id = NULL;
  cleanup_free char *rel = NULL;
  size_t len;
  int r;

  if (driver == NULL || *driver == '\0' || strlen (driver) > 32
      || strspn (driver, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen (driver))
    {
      identity_note_conflict (id, "docker: config.v2.json names no storage driver");
      return 0;
    }
  xasprintf (&path, "image/%s/layerdb/mounts/%s/mount-id", driver, st->id);
  xasprintf (&name, "%s/%s", root, path);
  rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return pg_make_error (err, errno, "%s", root);
  r = pg_safe_read_file (rootfd, path, PG_RESOLVE_BENEATH, 256, name, &mount_id, &len, err);
  if (r < 0)
    return -1;
  while (r > 0 && len > 0 && (mount_id[len - 1] == '\n' || mount_id[len - 1] == ' '))
    mount_id[--len] = '\0';
  if (r == 0 || !is_hex64 (mount_id) || (rel = driver_rootfs (driver, mount_id)) == NULL)
    {
      identity_note_conflict (
          id, "docker: no layer of storage driver %s to tie config.v2.json to this rootfs", driver);
      return 0;
    }
  r = oci_state_is_rootfs (st, root, rel, err);
  if (r < 0)
    return -1;
  if (r == 0)
    {
      identity_note_conflict (id, "docker: config.v2.json of this container ID is for another rootfs");
      return 0;
    }
  return 1;
}

int
resolve_docker (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
                pg_error_t *err)
{
  const char *root = cfg->docker_root ? cfg->docker_root : DOCKER_ROOT;
  cleanup_close int fd = -1;
  cleanup_free char *name = NULL;
  cleanup_free char *buf = NULL;
  cleanup_json json_t *doc = NULL;
  const char *owner, *ref;
  size_t len;
  int r;

  if (!is_hex64 (st->id))
    return 0;
  fd = open_config_v2 (root, st->id, err);
  if (fd == -1)
    return 0;
  if (fd < -1)
    return -1;
  xasprintf (&name, "%s/containers/%s/config.v2.json", root, st->id);
  if (read_all_fd (fd, name, PG_MAX_METADATA_SIZE, &buf, &len, err) < 0
      || pg_json_parse (buf, len, name, &doc, err) < 0)
    return -1;
  owner = pg_json_string (doc, "ID");
  if (owner && strcmp (owner, st->id) != 0)
    return pg_make_error (err, 0, "%s: belongs to container %s", name, owner);
  r = docker_rootfs_matches (root, doc, st, id, err);
  if (r <= 0)
    return r;
  id->engine = "docker";
  id->source = "docker";
  id->digest = digest_normalize (pg_json_string (doc, "Image"));
  ref = pg_json_string (json_object_get (doc, "Config"), "Image");
  if (ref && *ref)
    id->image_ref = xstrdup (ref);
  return 1;
}
