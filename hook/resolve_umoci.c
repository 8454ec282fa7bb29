#include "gate.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

/* umoci unpack records the descriptors it walked from the index to the
   manifest; the last one is the manifest the bundle was made from.  */
static const char *
umoci_manifest_digest (json_t *doc)
{
  json_t *walk = json_get_path (doc, "from_descriptor_path.descriptor_walk");
  json_t *last;
  if (!json_is_array (walk) || json_array_size (walk) == 0)
    return NULL;
  last = json_array_get (walk, json_array_size (walk) - 1);
  return json_get_string (last, "digest");
}

int
resolve_umoci (const struct pg_oci_state *st, struct pg_identity *id, pg_error_t *err)
{
  cleanup_close int dirfd = -1;
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  cleanup_free char *name = NULL;
  cleanup_json json_t *doc = NULL;
  size_t len;

  dirfd = open (st->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return pg_make_error (err, errno, "bundle %s", st->bundle);
  fd = openat (dirfd, "umoci.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      return pg_make_error (err, errno, "%s/umoci.json", st->bundle);
    }
  xasprintf (&name, "%s/umoci.json", st->bundle);
  if (read_all_fd (fd, name, PG_MAX_METADATA_SIZE, &buf, &len, err) < 0
      || json_parse_bounded (buf, len, name, &doc, err) < 0)
    return -1;
  id->source = "umoci";
  /* The layout's ref.name is a local tag, not a repository: the name shown
     for the image comes from the database, where scans recorded it.  */
  id->digest = digest_normalize (umoci_manifest_digest (doc));
  return 1;
}
