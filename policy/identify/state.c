#include "identify/state.h"
#include "base/safe_open.h"
#include "base/json.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static const char *
state_bundle (json_t *doc)
{
  /* runc before 1.0 sent bundlePath; everyone now sends bundle.  */
  const char *b = pg_json_string (doc, "bundle");
  return b ? b : pg_json_string (doc, "bundlePath");
}

/* The bundle directory as the runtime opened it: its device and inode are
   what an engine's record must name (identify/storage.h, resolve_docker.c).  */
static int
stat_bundle (const char *bundle, struct pg_oci_state *st, pg_error_t *err)
{
  cleanup_close int dirfd = open (bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat sb;

  if (dirfd < 0 || fstat (dirfd, &sb) < 0)
    return pg_make_error (err, errno, "bundle %s", bundle);
  st->bundle_dev = sb.st_dev;
  st->bundle_ino = sb.st_ino;
  return 0;
}

static int
annotations_valid (json_t *ann, const char *where, pg_error_t *err)
{
  const char *key;
  json_t *v;

  if (ann == NULL)
    return 0;
  if (!json_is_object (ann))
    return pg_make_error (err, 0, "%s: annotations must be an object", where);
  json_object_foreach (ann, key, v)
    if (!json_is_string (v))
      return pg_make_error (err, 0, "%s: annotation `%s` must be a string", where, key);
  return 0;
}

/* The annotations are the state's: the runtime copied them from the
   config.json it parsed and is about to run, with its own reading of that
   file (Go's key folding and duplicate merging for runc), and a bundle
   changed after the runtime read it cannot take them back.  config.json
   itself is read only where its root is needed (oci_state_is_rootfs), so
   a decision does not pay for parsing a large spec (a Docker one carries a
   whole seccomp profile) to learn what the state already says.  */
int
oci_state_parse (const char *text, size_t len, const char *name, struct pg_oci_state *st, pg_error_t *err)
{
  cleanup_json json_t *doc = NULL;
  const char *id, *bundle;
  json_t *ann;

  memset (st, 0, sizeof (*st));
  if (len > PG_MAX_STATE_SIZE)
    return pg_make_error (err, 0, "%s: larger than the limit of %u bytes", name, PG_MAX_STATE_SIZE);
  if (pg_json_parse (text, len, name, &doc, err) < 0)
    return -1;
  if (!json_is_object (doc))
    return pg_make_error (err, 0, "%s: the OCI state must be a JSON object", name);
  id = pg_json_string (doc, "id");
  bundle = state_bundle (doc);
  if (id == NULL || *id == '\0' || strlen (id) > 1024)
    return pg_make_error (err, 0, "%s: missing or invalid container `id`", name);
  /* Known from here on, even when what follows fails: error lines name it. */
  st->id = xstrdup (id);
  if (bundle == NULL || bundle[0] != '/' || strlen (bundle) > 4096)
    return pg_make_error (err, 0, "%s: missing `bundle` (an absolute path)", name);
  ann = json_object_get (doc, "annotations");
  if (annotations_valid (ann, name, err) < 0)
    return -1;
  if (stat_bundle (bundle, st, err) < 0)
    return -1;
  st->bundle = xstrdup (bundle);
  st->annotations = ann ? json_incref (ann) : json_object ();
  return 0;
}

/* config.json is the engine's file in the bundle, not the image's: still,
   refuse a symlink, a FIFO or a mount so that nothing redirects or stalls
   the read (base/safe_open.h).  */
static int
read_bundle_config (const char *bundle, json_t **out, pg_error_t *err)
{
  cleanup_close int dirfd = -1;
  cleanup_free char *buf = NULL;
  cleanup_free char *name = NULL;
  cleanup_json json_t *config = NULL;
  size_t len;
  int r;

  xasprintf (&name, "%s/config.json", bundle);
  dirfd = open (bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return pg_make_error (err, errno, "bundle %s", bundle);
  r = pg_safe_read_file (dirfd, "config.json", PG_RESOLVE_BENEATH, PG_MAX_CONFIG_SIZE, name, &buf, &len, err);
  if (r == 0)
    return pg_make_error (err, ENOENT, "%s", name);
  if (r < 0)
    return -1;
  /* rlimits are unsigned 64-bit (RLIM_INFINITY is 18446744073709551615,
     what `docker run --ulimit core=-1` writes): nothing numeric is read
     here, so numbers may lose precision rather than fail the parse.  */
  if (pg_json_parse_flags (buf, len, name, JSON_DECODE_INT_AS_REAL, &config, err) < 0)
    return -1;
  if (!json_is_object (config))
    return pg_make_error (err, 0, "%s: must be a JSON object", name);
  *out = config;
  config = NULL;
  return 0;
}

/* config.json's root.path, or NULL.  */
static int
bundle_root_path (const struct pg_oci_state *st, char **out, pg_error_t *err)
{
  cleanup_json json_t *config = NULL;
  const char *root;

  *out = NULL;
  if (read_bundle_config (st->bundle, &config, err) < 0)
    return -1;
  root = pg_json_string (json_object_get (config, "root"), "path");
  if (root && *root && strlen (root) <= 4096)
    *out = xstrdup (root);
  return 0;
}

int
oci_state_for_bundle (const char *id, const char *bundle, const char *status, int64_t pid, char **out,
                      pg_error_t *err)
{
  cleanup_json json_t *config = NULL;
  cleanup_json json_t *state = NULL;
  json_t *ann;

  if (read_bundle_config (bundle, &config, err) < 0)
    return -1;
  ann = json_object_get (config, "annotations");
  if (annotations_valid (ann, "config.json", err) < 0)
    return -1;
  /* "o" takes the reference: a new empty object, or one more of config's.  */
  state = json_pack ("{s:s, s:s, s:s, s:s, s:o}", "ociVersion", "1.0.2", "id", id, "status", status, "bundle",
                     bundle, "annotations", ann ? json_incref (ann) : json_object ());
  if (state == NULL)
    return pg_make_error (err, 0, "%s: cannot build its OCI state", bundle);
  if (pid > 0)
    json_object_set_new (state, "pid", json_integer (pid));
  *out = json_dumps (state, JSON_COMPACT);
  if (*out == NULL)
    return pg_make_error (err, ENOMEM, "%s: cannot build its OCI state", bundle);
  return 0;
}

void
oci_state_free (struct pg_oci_state *st)
{
  free (st->id);
  free (st->bundle);
  json_decref (st->annotations);
  memset (st, 0, sizeof (*st));
}

/* ROOT/REL: the directory holding its last component is opened below ROOT
   with no symlink and no mount crossing (base/safe_open.h), the last
   component without following a symlink but possibly onto a mount.  */
static int
open_dir_below (const char *root, const char *rel)
{
  cleanup_free char *parent = xstrdup (rel);
  cleanup_close int rootfd = -1;
  cleanup_close int dirfd = -1;
  char *slash = strrchr (parent, '/');
  const char *last = slash ? slash + 1 : parent;

  if (*last == '\0' || strcmp (last, ".") == 0 || strcmp (last, "..") == 0)
    return -1;
  rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return -1;
  if (slash)
    {
      *slash = '\0';
      dirfd = pg_safe_openat (rootfd, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, PG_RESOLVE_BENEATH);
      if (dirfd < 0)
        return -1;
    }
  return openat (dirfd >= 0 ? dirfd : rootfd, last, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static bool
same_dir (const char *root, const char *rel, dev_t dev, ino_t ino)
{
  cleanup_close int fd = open_dir_below (root, rel);
  struct stat sb;

  return fd >= 0 && fstat (fd, &sb) == 0 && sb.st_dev == dev && sb.st_ino == ino;
}

bool
oci_state_is_bundle (const struct pg_oci_state *st, const char *root, const char *rel)
{
  return same_dir (root, rel, st->bundle_dev, st->bundle_ino);
}

int
oci_state_is_rootfs (const struct pg_oci_state *st, const char *root, const char *rel, pg_error_t *err)
{
  cleanup_free char *root_path = NULL;
  cleanup_close int bundlefd = -1;
  cleanup_close int fd = -1;
  struct stat sb;

  if (bundle_root_path (st, &root_path, err) < 0)
    return -1;
  if (root_path == NULL)
    return 0;
  /* As the runtime resolves it: relative to the bundle, symlinks followed.  */
  bundlefd = open (st->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (bundlefd < 0)
    return 0;
  fd = openat (bundlefd, root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &sb) < 0)
    return 0;
  return same_dir (root, rel, sb.st_dev, sb.st_ino) ? 1 : 0;
}
