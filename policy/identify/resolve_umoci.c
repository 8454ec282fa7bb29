#include "identify/engines.h"
#include "base/safe_open.h"
#include "base/json.h"
#include "base/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

/* umoci unpack records the descriptors it walked from the index to the
   manifest; the last one is the manifest the bundle was made from.  */
static const char *
umoci_manifest_digest (json_t *doc)
{
  json_t *walk = pg_json_path (doc, "from_descriptor_path.descriptor_walk");
  json_t *last;
  if (!json_is_array (walk) || json_array_size (walk) == 0)
    return NULL;
  last = json_array_get (walk, json_array_size (walk) - 1);
  return pg_json_string (last, "digest");
}

int
resolve_umoci (const struct pg_hook_config *cfg, const struct pg_oci_state *st, struct pg_identity *id,
               pg_error_t *err)
{
  cleanup_close int dirfd = -1;
  cleanup_free char *buf = NULL;
  cleanup_free char *name = NULL;
  cleanup_json json_t *doc = NULL;
  size_t len;
  int r;

  dirfd = open (st->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return pg_make_error (err, errno, "bundle %s", st->bundle);
  xasprintf (&name, "%s/umoci.json", st->bundle);
  /* Whoever wrote the bundle wrote this file: no symlink, FIFO or mount
     may point the read elsewhere (base/safe_open.h).  */
  r = pg_safe_read_file (dirfd, "umoci.json", PG_RESOLVE_BENEATH, PG_MAX_METADATA_SIZE, name, &buf, &len,
                         err);
  if (r <= 0)
    return r;
  if (pg_json_parse (buf, len, name, &doc, err) < 0)
    return -1;
  id->source = "umoci";
  /* The layout's ref.name is a local tag, not a repository: the name shown
     for the image comes from the database, where scans recorded it.  */
  id->digest = digest_normalize (umoci_manifest_digest (doc));
  return 1;
}
