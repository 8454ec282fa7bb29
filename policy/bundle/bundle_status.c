/* patchgate: what `patchgate status` shows of policy bundles: the active
   bundle (the active index's trailer) and the last sync (the state file
   beside the database).  Kept apart from freshness.c so that the hook, which needs
   only the freshness check, links neither libcurl nor libcrypto.  */
#include "bundle/bundle.h"
#include "index/index.h"
#include "bundle/sync.h"
#include "base/clock.h"

#include <string.h>

void
bundle_info_free (struct pg_bundle_info *bi)
{
  free (bi->sig_sha256);
  free (bi->sync_url);
  free (bi->sync_result);
  memset (bi, 0, sizeof (*bi));
}

int
bundle_info_read (const char *db_path, const char *index_path, struct pg_bundle_info *bi, pg_error_t *err)
{
  cleanup_free char *state_path = sync_state_path (db_path);
  struct pg_index_origin o;
  struct pg_sync_state s;

  memset (bi, 0, sizeof (*bi));
  if (index_read_origin (index_path, &o, err) < 0)
    return -1;
  if (o.from_bundle)
    {
      bi->from_bundle = true;
      bi->serial = o.bundle_serial;
      bi->created = o.bundle_created;
      bi->activated_at = o.bundle_activated_at;
      bi->sig_sha256 = o.bundle_sig_sha256[0] ? xstrdup (o.bundle_sig_sha256) : NULL;
    }
  if (sync_state_load (state_path, &s, err) < 0)
    return -1;
  if (s.time > 0)
    {
      bi->has_sync = true;
      bi->sync_url = s.url;
      bi->sync_result = s.result;
      bi->sync_time = s.time;
      bi->sync_ok = s.ok;
      s.url = s.result = NULL;
    }
  sync_state_free (&s);
  return 0;
}

void
bundle_info_to_json (const struct pg_bundle_info *bi, int64_t now, json_t *obj)
{
  char buf[32];
  if (bi->from_bundle)
    {
      char activated[32];
      format_rfc3339 (bi->created, buf, sizeof (buf));
      format_rfc3339 (bi->activated_at, activated, sizeof (activated));
      json_object_set_new (obj, "bundle",
                           json_pack ("{s:I, s:s, s:I, s:s, s:s?}", "serial", (json_int_t) bi->serial,
                                      "created", buf, "age_seconds", (json_int_t) (now - bi->created),
                                      "activated", activated, "sig_sha256", bi->sig_sha256));
    }
  if (bi->has_sync)
    {
      format_rfc3339 (bi->sync_time, buf, sizeof (buf));
      json_object_set_new (obj, "last_sync",
                           json_pack ("{s:s, s:s?, s:s?, s:b}", "time", buf, "url", bi->sync_url, "result",
                                      bi->sync_result, "ok", bi->sync_ok));
    }
}
