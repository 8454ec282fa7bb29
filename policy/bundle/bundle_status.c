/* patchgate: what `patchgate status` shows of policy bundles: the active
   bundle (meta table) and the last sync (the state file beside the
   database).  Kept apart from freshness.c so that the hook, which needs
   only the freshness check, links neither libcurl nor libcrypto.  */
#include "bundle/bundle.h"
#include "store/meta.h"
#include "bundle/sync.h"
#include "base/clock.h"

#include <string.h>

void
bundle_info_free (struct pg_bundle_info *bi)
{
  free (bi->source);
  free (bi->policy_version);
  free (bi->sync_url);
  free (bi->sync_result);
  memset (bi, 0, sizeof (*bi));
}

int
bundle_info_read (pg_store *store, const char *db_path, struct pg_bundle_info *bi, pg_error_t *err)
{
  cleanup_free char *state_path = sync_state_path (db_path);
  struct pg_sync_state s;
  int r;

  memset (bi, 0, sizeof (*bi));
  r = store_meta_get_int (store, "bundle_serial", &bi->serial, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      bi->from_bundle = true;
      if (store_meta_get_int (store, "bundle_created", &bi->created, err) < 0
          || store_meta_get_int (store, "bundle_activated_at", &bi->activated_at, err) < 0)
        return -1;
      if (store_meta_get_text (store, "bundle_source", &bi->source, err) < 0)
        return -1;
      if (store_meta_get_text (store, "bundle_policy_version", &bi->policy_version, err) < 0)
        return -1;
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
      format_rfc3339 (bi->created, buf, sizeof (buf));
      json_object_set_new (obj, "bundle",
                           json_pack ("{s:I, s:s, s:I, s:s?, s:s?}", "serial", (json_int_t) bi->serial,
                                      "created", buf, "age_seconds", (json_int_t) (now - bi->created),
                                      "source", bi->source, "policy_version", bi->policy_version));
    }
  if (bi->has_sync)
    {
      format_rfc3339 (bi->sync_time, buf, sizeof (buf));
      json_object_set_new (obj, "last_sync",
                           json_pack ("{s:s, s:s?, s:s?, s:b}", "time", buf, "url", bi->sync_url, "result",
                                      bi->sync_result, "ok", bi->sync_ok));
    }
}
