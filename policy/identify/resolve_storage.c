/* containers/storage, the store podman and CRI-O share.  The OCI `id` is
 * the storage container ID; <driver>-containers/containers.json (or
 * volatile-containers.json) names its image ID, and
 * <driver>-images/images.json gives that image's manifest digests and names.
 * The engine rewrites these files atomically (write and rename), so one
 * bounded read of each is a consistent snapshot.
 *
 * A record counts for a container only when it is this container's bundle:
 * podman hands the runtime <graphroot>/<driver>-containers/<id>/userdata
 * (<runroot>/... with a transient store), CRI-O the <runroot> one.  Anyone
 * can give runc an ID that a podman container has.
 */
#include "identify/storage.h"
#include "identify/engines.h"
#include "base/digest.h"
#include "base/safe_open.h"
#include "base/json.h"
#include "base/file.h"
#include "base/toml.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#define STORAGE_GRAPHROOT "/var/lib/containers/storage"
#define STORAGE_RUNROOT "/run/containers/storage"

void
storage_conf_free (struct pg_storage_conf *sc)
{
  free (sc->graphroot);
  free (sc->runroot);
  free (sc->driver);
  memset (sc, 0, sizeof (*sc));
}

void
storage_image_free (struct pg_storage_image *img)
{
  free (img->image_id);
  strv_free (img->digests, img->n_digests);
  free (img->name);
  memset (img, 0, sizeof (*img));
}

/* A [storage] string of storage.conf(5): an empty driver means "probe", a
   relative root is not usable; anything but a string is not ours.  */
static void
storage_conf_take (const struct pg_toml *doc, const char *key, bool is_root, char **field)
{
  const char *const path[] = { "storage", key };
  const struct pg_toml_entry *e = pg_toml_find (doc, path, 2);

  if (e == NULL || e->type != PG_TOML_STRING || e->str == NULL || *e->str == '\0'
      || (is_root && *e->str != '/'))
    return;
  free (*field);
  *field = xstrdup (e->str);
}

/* Only the [storage] table's graphroot, runroot and driver are used.  A
   file the TOML reader refuses is an error, as containers/storage refuses
   to start on it too.  */
int
storage_conf_parse (const char *path, struct pg_storage_conf *sc, pg_error_t *err)
{
  cleanup_toml struct pg_toml doc = { 0 };

  memset (sc, 0, sizeof (*sc));
  if (pg_toml_load_file (path, &doc, err) < 0)
    return pg_error_wrap (err, "containers storage.conf");
  storage_conf_take (&doc, "graphroot", true, &sc->graphroot);
  storage_conf_take (&doc, "runroot", true, &sc->runroot);
  storage_conf_take (&doc, "driver", false, &sc->driver);
  if (sc->graphroot == NULL)
    sc->graphroot = xstrdup (STORAGE_GRAPHROOT);
  if (sc->runroot == NULL)
    sc->runroot = xstrdup (STORAGE_RUNROOT);
  if (sc->driver && strcmp (sc->driver, "overlay2") == 0)
    {
      free (sc->driver);
      sc->driver = xstrdup ("overlay");
    }
  return 0;
}

/* The hook config wins over storage.conf, field by field.  */
static int
storage_conf_for (const struct pg_hook_config *cfg, struct pg_storage_conf *sc, pg_error_t *err)
{
  if (storage_conf_parse (cfg->storage_conf ? cfg->storage_conf : PG_STORAGE_CONF, sc, err) < 0)
    return -1;
  if (cfg->storage_graphroot)
    {
      free (sc->graphroot);
      sc->graphroot = xstrdup (cfg->storage_graphroot);
    }
  if (cfg->storage_runroot)
    {
      free (sc->runroot);
      sc->runroot = xstrdup (cfg->storage_runroot);
    }
  if (cfg->storage_driver)
    {
      free (sc->driver);
      sc->driver = xstrdup (cfg->storage_driver);
    }
  return 0;
}

/* The last record of ID, as the fast path below finds it (see there).  */
static json_t *
find_by_id (json_t *arr, const char *id)
{
  json_t *found = NULL;
  size_t i;
  json_t *e;
  json_array_foreach (arr, i, e)
    {
      const char *v = pg_json_string (e, "id");
      if (v && strcmp (v, id) == 0)
        found = e;
    }
  return found;
}

/* The last NEEDLE in the mapping BUF[0..LEN), searched a window at a time
   from the end.  containers/storage appends each container it creates to
   the array, so the container being created is in the file's last bytes
   and the search stops there; an older container started again costs the
   bytes written after its record.  Each window searched in vain is dropped
   from the page tables (MADV_DONTNEED: the file's pages stay mapped and a
   later read faults them in again), so that the process's memory does not
   grow with the file.  The first window is at most 64 KiB (the newest
   records), the others 256 KiB (fewer calls when the search goes far);
   each starts at a multiple of its size, so at a page.  */
#define SCAN_FIRST_WINDOW ((size_t) 64 << 10)
#define SCAN_WINDOW ((size_t) 256 << 10)

static const char *
find_last (const char *buf, size_t len, const char *needle, size_t nlen)
{
  size_t end = len;

  while (end > 0)
    {
      size_t w = end == len ? SCAN_FIRST_WINDOW : SCAN_WINDOW;
      size_t start = (end - 1) / w * w;
      /* An occurrence that starts in this window may end in the next.  */
      const char *lim = buf + (len - end < nlen - 1 ? len : end + nlen - 1);
      const char *q = buf + start, *last = NULL;

      while (q < lim && (q = memmem (q, (size_t) (lim - q), needle, nlen)) != NULL)
        last = q++;
      if (last)
        return last;
      (void) madvise ((void *) (buf + start), end - start, MADV_DONTNEED);
      end = start;
    }
  return NULL;
}

/* The length of the object at P when it is followed as a record of the
   array is: by the ']' that ends the file at END, or by a comma and the
   next record's first bytes; 0 otherwise (P inside another value).  */
static size_t
record_end (const char *p, const char *end)
{
  static const char next[] = ",{\"id\":\"";
  size_t olen = pg_json_container_end (p, (size_t) (end - p));
  size_t rest = (size_t) (end - p) - olen;

  if (olen == 0 || rest == 0)
    return 0;
  if (p[olen] == ']')
    return rest == 1 ? olen : 0;
  return rest > sizeof (next) - 1 && memcmp (p + olen, next, sizeof (next) - 1) == 0 ? olen : 0;
}

/* The record of ID in the array BUF[0..LEN) without parsing the array, as
   containers/storage writes it: Go's encoding/json (json-iterator in its
   standard-compatible mode) marshals the records compact, fields in struct
   order, the ID first and never omitted, `"` inside a string always
   escaped.  So in a file of that form the bytes `{"id":"<ID>"` appear only
   where an object whose first key is "id" starts: never inside a name or
   the metadata text (which a container's author chooses), whose quotes
   are all `\"`.  Such an object that follows `[` or `,` and is followed
   by the next record or the array's end is a record, since the engine
   never writes an object with "id" first in the records' fields.

   containers/storage never writes two records of one ID (it refuses to
   create a duplicate); its loader kept the last of two before 1.45 and
   keeps the first since.  This reader takes the last, the whole-file
   parse below too, so that both paths read a damaged file alike.

   Returns 1 with *REC, the one record of ID parsed alone (with the
   project's bounds); 0 when the file has that form and no such bytes
   (ID is not there: a record cannot be written otherwise); -1 when this
   path cannot tell (another form, such as the test data's indented files;
   an empty array; the last such bytes not placed as a record; a record
   that is not whole JSON, as in a truncated file): then the caller parses
   the whole file, as before, so that such files are read exactly as they
   always were.  */
static int
find_record_fast (const char *buf, size_t len, const char *id, json_t **rec)
{
  static const char head[] = "[{\"id\":\"";
  char needle[80];
  const char *p;
  size_t nlen, olen;
  json_t *j = NULL;

  *rec = NULL;
  /* The form: the first record opens the file, the last closes it.  */
  if (buf == NULL || len < sizeof (head) + 1 || memcmp (buf, head, sizeof (head) - 1) != 0
      || memcmp (buf + len - 2, "}]", 2) != 0)
    return -1;
  nlen = (size_t) snprintf (needle, sizeof (needle), "{\"id\":\"%s\"", id);
  if (nlen >= sizeof (needle))
    return -1;
  p = find_last (buf, len, needle, nlen);
  if (p == NULL)
    return 0;
  if (p[-1] != '[' && p[-1] != ',')
    return -1;
  olen = record_end (p, buf + len);
  if (olen == 0)
    return -1;
  if (pg_json_parse (p, olen, "record", &j, NULL) < 0)
    return -1;
  if (!json_is_object (j))
    {
      json_decref (j);
      return -1;
    }
  *rec = j;
  return 1;
}

/* The record of ID in ROOT/SUB/FILE, a JSON array of records (read once,
   bounded, without following a symlink below ROOT).  Returns 1 with *REC,
   0 when the file or the record is absent, <0 on error.  */
static int
read_store_record (const char *root, const char *sub, const char *file, const char *id, json_t **rec,
                   pg_error_t *err)
{
  cleanup_close int rootfd = -1;
  cleanup_free char *name = NULL;
  cleanup_free char *path = NULL;
  cleanup_json json_t *doc = NULL;
  const char *buf = NULL;
  size_t len = 0;
  json_t *e;
  int r;

  *rec = NULL;
  xasprintf (&name, "%s/%s/%s", root, sub, file);
  xasprintf (&path, "%s/%s", sub, file);
  rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return pg_make_error (err, errno, "%s", root);
    }
  /* No symlink, FIFO or mount below ROOT (base/safe_open.h); the engine
     replaces the file by rename, so it can be mapped.  */
  r = pg_safe_map_file (rootfd, path, PG_RESOLVE_BENEATH, PG_MAX_METADATA_SIZE, name, &buf, &len, err);
  if (r <= 0)
    return r;
  r = find_record_fast (buf, len, id, rec);
  if (r < 0)
    {
      r = pg_json_parse (buf ? buf : "", len, name, &doc, err);
      if (r == 0 && !json_is_array (doc))
        r = pg_make_error (err, 0, "%s: must be a JSON array", name);
      if (r == 0 && (e = find_by_id (doc, id)) != NULL)
        *rec = json_incref (e);
      r = r < 0 ? -1 : *rec != NULL;
    }
  pg_safe_unmap (buf, len);
  return r;
}

/* CRI-O records the pod (pod-name, pod-id: mandatory in its
   RuntimeContainerMetadata) of every container it creates; podman's
   metadata has neither.  Only root writes the store, so this tells CRI-O's
   containers from podman's.  */
static bool
metadata_is_crio (json_t *meta)
{
  const char *pod_name = pg_json_string (meta, "pod-name");
  const char *pod_id = pg_json_string (meta, "pod-id");
  return pod_name && *pod_name && pod_id && *pod_id;
}

/* The container's entry: the volatile-containers.json files first (podman
   run --rm in the graphroot's, CRI-O in the runroot's), then the
   containers.json files (the runroot's for transient stores).  An ID is in
   one file only (containers/storage refuses to create one it has anywhere),
   so the order decides only what is read in vain: the volatile files hold
   the containers that exist while they run, containers.json every one the
   host keeps, and a container missing from a file costs a pass over it.
   Returns 1 with IMG's image ID, name and crio set, 0, or <0.  */
static int
find_container (const struct pg_storage_conf *sc, const char *driver, const char *cid,
                struct pg_storage_image *out, pg_error_t *err)
{
  const struct
  {
    const char *root, *file;
  } places[] = { { sc->graphroot, "volatile-containers.json" },
                 { sc->runroot, "volatile-containers.json" },
                 { sc->graphroot, "containers.json" },
                 { sc->runroot, "containers.json" } };
  cleanup_free char *sub = NULL;

  xasprintf (&sub, "%s-containers", driver);
  for (size_t i = 0; i < sizeof (places) / sizeof (places[0]); i++)
    {
      cleanup_json json_t *c = NULL;
      cleanup_json json_t *meta = NULL;
      const char *img, *m;
      int r = read_store_record (places[i].root, sub, places[i].file, cid, &c, err);
      if (r < 0)
        return -1;
      if (r == 0)
        continue;
      img = pg_json_string (c, "image");
      if (img == NULL || !is_hex64 (img))
        return pg_make_error (err, 0, "%s/%s/%s: container %s has no image ID", places[i].root, sub,
                              places[i].file, cid);
      xasprintf (&out->image_id, "sha256:%s", img);
      /* podman and CRI-O record the name the image was asked for.  */
      m = pg_json_string (c, "metadata");
      if (m && pg_json_parse (m, strlen (m), "metadata", &meta, NULL) == 0)
        {
          if (pg_json_string (meta, "image-name") && *pg_json_string (meta, "image-name"))
            out->name = xstrdup (pg_json_string (meta, "image-name"));
          out->crio = metadata_is_crio (meta);
        }
      return 1;
    }
  return 0;
}

static void
add_digest (struct pg_storage_image *img, const char *d)
{
  if (!is_sha256_digest (d))
    return;
  for (size_t i = 0; i < img->n_digests; i++)
    if (strcmp (img->digests[i], d) == 0)
      return;
  strv_append (&img->digests, &img->n_digests, d);
}

/* The image's manifest digests and first name, from images.json; an image
   missing there (being removed) still has its ID.  */
/* Whether CRI-O's ImageRef names a digest other than IMAGE_ID
   ("sha256:<hex>"): then crio_identify needs the image's manifest
   digests.  */
static bool
crio_ref_names_other (const struct pg_oci_state *st, const char *image_id)
{
  cleanup_free char *digest = digest_normalize (pg_json_string (st->annotations, CRIO_IMAGE_REF));
  return digest != NULL && strcmp (digest, image_id) != 0;
}

static int
read_image (const struct pg_storage_conf *sc, const char *driver, const char *image,
            struct pg_storage_image *img, pg_error_t *err)
{
  cleanup_json json_t *e = NULL;
  cleanup_free char *sub = NULL;
  json_t *v;
  size_t i;
  int r;

  xasprintf (&sub, "%s-images", driver);
  r = read_store_record (sc->graphroot, sub, "images.json", image, &e, err);
  if (r <= 0)
    return r;
  add_digest (img, pg_json_string (e, "digest"));
  json_array_foreach (json_object_get (e, "digests"), i, v)
    add_digest (img, json_string_value (v));
  v = json_array_get (json_object_get (e, "names"), 0);
  if (img->name == NULL && json_is_string (v))
    img->name = xstrdup (json_string_value (v));
  return 0;
}

static bool
driver_dir_exists (const char *graphroot, const char *driver)
{
  cleanup_free char *p = NULL;
  xasprintf (&p, "%s/%s-containers", graphroot, driver);
  return access (p, F_OK) == 0;
}

/* The container's own directories, which the engine gives the runtime as
   the bundle (see the top of this file).  */
static bool
record_is_bundle (const struct pg_storage_conf *sc, const char *driver, const struct pg_oci_state *st)
{
  cleanup_free char *rel = NULL;

  xasprintf (&rel, "%s-containers/%s/userdata", driver, st->id);
  return oci_state_is_bundle (st, sc->graphroot, rel) || oci_state_is_bundle (st, sc->runroot, rel);
}

int
storage_lookup (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_storage_image *img,
                pg_error_t *err)
{
  static const char *const probe[] = { "overlay", "vfs" };
  struct pg_storage_conf sc;
  const char *driver = NULL;
  int r = 0;

  memset (img, 0, sizeof (*img));
  /* Storage container IDs are 64 hex digits; nothing else is looked up,
     and no path is built from anything else.  */
  if (!is_hex64 (st->id))
    return 0;
  if (storage_conf_for (cfg, &sc, err) < 0)
    return -1;
  driver = sc.driver;
  for (size_t i = 0; driver == NULL && i < sizeof (probe) / sizeof (probe[0]); i++)
    if (driver_dir_exists (sc.graphroot, probe[i]))
      driver = probe[i];
  if (driver)
    r = find_container (&sc, driver, st->id, img, err);
  if (r == 1)
    {
      img->at_bundle = record_is_bundle (&sc, driver, st);
      /* images.json (as large as the host's images are many) only for
         what the container's record does not say: a name when its
         metadata has none, the manifest digests when CRI-O's ImageRef is
         not the image ID (the only use of them).  A record for another
         bundle is not believed (storage_record_here).  */
      if (img->at_bundle && (img->name == NULL || (img->crio && crio_ref_names_other (st, img->image_id)))
          && read_image (&sc, driver, img->image_id + strlen ("sha256:"), img, err) < 0)
        r = -1;
    }
  if (r <= 0)
    storage_image_free (img);
  storage_conf_free (&sc);
  return r;
}

int
storage_record_here (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                     struct pg_storage_image *img, struct pg_identity *id, pg_error_t *err)
{
  int r = storage_lookup (cfg, st, img, err);

  if (r <= 0)
    return r;
  if (img->at_bundle)
    return 1;
  identity_note_conflict (id, "containers-storage: the record of this container ID is for another bundle");
  storage_image_free (img);
  return 0;
}
