#include "cli.h"
#include "store/store.h"
#include "bundle/bundle.h"
#include "index/index.h"
#include "base/clock.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: patchgate status [--db FILE] [--index FILE] [--json]\n"
                "\n"
                "Show the policy version, counts of images, scans and vulnerabilities, the newest\n"
                "scan and how old the database is; and the active bundle and the last sync.  On\n"
                "a host that only activates bundles (no database), what the active index holds.\n"
                "\n"
                "  --db FILE     policy database (default " PG_DEFAULT_DB ")\n"
                "  --index FILE  policy index (default: beside the database, X.db -> X.idx)\n"
                "  --json        print the same as JSON\n"
                "  -h, --help    show this help\n");
}

static void
time_or_never (int64_t t, char *buf, size_t size)
{
  if (t == 0)
    snprintf (buf, size, "never");
  else
    format_rfc3339 (t, buf, size);
}

static void
time_and_age (int64_t t, int64_t now, char *buf, size_t size)
{
  char when[32], age[32];
  format_rfc3339 (t, when, sizeof (when));
  format_duration (now > t ? now - t : 0, age, sizeof (age));
  snprintf (buf, size, "%s (%s ago)", when, age);
}

static void
bundle_info_print (const struct pg_bundle_info *bi, int64_t now, FILE *out)
{
  char buf[96];
  if (bi->from_bundle)
    {
      time_and_age (bi->created, now, buf, sizeof (buf));
      fprintf (out, "bundle serial:   %lld\n", (long long) bi->serial);
      fprintf (out, "bundle created:  %s\n", buf);
      time_and_age (bi->activated_at, now, buf, sizeof (buf));
      fprintf (out, "bundle activated: %s\n", buf);
    }
  else
    fprintf (out, "bundle:          none (index compiled locally; max_policy_age does not apply)\n");
  if (bi->has_sync)
    {
      time_and_age (bi->sync_time, now, buf, sizeof (buf));
      fprintf (out, "last sync:       %s %s: %s\n", buf, bi->sync_url ? bi->sync_url : "",
               bi->sync_result ? bi->sync_result : "?");
    }
}

/* A host that takes bundles has no database: what the active index says. */
static int
status_index_only (const char *db, const char *index, const struct pg_bundle_info *bi, bool json, int64_t now)
{
  cleanup_index pg_index *idx = NULL;
  struct pg_index_info info;
  pg_error_t err = NULL;
  const char *version;

  if (index_open (index, NULL, &idx, &err) < 0 || (version = index_policy_version (idx, &err)) == NULL)
    {
      pg_error_wrap (&err, "no policy database %s, and its index", db);
      return cli_fail (&err);
    }
  index_get_info (idx, &info);
  if (json)
    {
      cleanup_json json_t *j = json_pack (
          "{s:s, s:n, s:s, s:s, s:I}", "index", index, "database", "policy_version", version, "origin",
          info.from_bundle ? "bundle" : "database", "images", (json_int_t) info.images);
      bundle_info_to_json (bi, now, j);
      json_dumpf (j, stdout, JSON_INDENT (2));
      putchar ('\n');
      return 0;
    }
  printf ("index:           %s (%s)\n", index,
          info.from_bundle ? "activated from a bundle" : "compiled from a database that is gone");
  printf ("database:        none (%s)\n", db);
  printf ("policy:          %s\n", version);
  printf ("images:          %llu\n", (unsigned long long) info.images);
  bundle_info_print (bi, now, stdout);
  return 0;
}

int
cmd_status (int argc, char **argv)
{
  static const struct option opts[] = { { "db", required_argument, NULL, 'd' },
                                        { "index", required_argument, NULL, 'i' },
                                        { "json", no_argument, NULL, 'j' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *db = PG_DEFAULT_DB, *index = NULL;
  cleanup_free char *derived = NULL;
  cleanup_store pg_store *store = NULL;
  cleanup_free char *policy = NULL;
  cleanup_free char *version = NULL;
  struct pg_store_status st;
  cleanup_bundle_info struct pg_bundle_info bi = { 0 };
  pg_error_t err = NULL;
  bool json = false;
  int64_t set_at = 0, now;
  struct stat sb;
  char newest[32], imported[32], policy_at[32], modified[32];
  int c;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        db = optarg;
        break;
      case 'i':
        index = optarg;
        break;
      case 'j':
        json = true;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (optind != argc)
    {
      usage (stderr);
      return 2;
    }
  if (index == NULL)
    index = derived = index_path_for_db (db);
  if (pg_now (&now, &err) < 0 || bundle_info_read (db, index, &bi, &err) < 0)
    return cli_fail (&err);
  if (stat (db, &sb) < 0 && errno == ENOENT)
    return status_index_only (db, index, &bi, json, now);
  if (store_open (db, PG_STORE_READONLY, &store, &err) < 0 || store_begin (store, false, &err) < 0
      || store_status (store, &st, &err) < 0
      || store_get_policy (store, &policy, &version, &set_at, &err) < 0)
    return cli_fail (&err);
  store_rollback (store);
  if (stat (db, &sb) < 0)
    {
      pg_make_error (&err, errno, "%s", db);
      return cli_fail (&err);
    }
  time_or_never (st.newest_scan, newest, sizeof (newest));
  time_or_never (st.last_import, imported, sizeof (imported));
  time_or_never (set_at, policy_at, sizeof (policy_at));
  format_rfc3339 (sb.st_mtime, modified, sizeof (modified));
  if (json)
    {
      cleanup_json json_t *j = json_pack (
          "{s:s, s:s?, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:i, s:s}", "database", db, "policy_version",
          version, "policy_set_at", policy_at, "images", (json_int_t) st.images, "scans",
          (json_int_t) st.scans, "vulnerabilities", (json_int_t) st.vulns, "newest_scan", newest,
          "last_import", imported, "modified", modified, "age_seconds", (json_int_t) (now - sb.st_mtime),
          "schema_version", st.schema_version, "index", index);
      bundle_info_to_json (&bi, now, j);
      json_dumpf (j, stdout, JSON_INDENT (2));
      putchar ('\n');
      return 0;
    }
  printf ("database:        %s (schema %d)\n", db, st.schema_version);
  printf ("policy:          %s (set %s)\n", version ? version : "none set", policy_at);
  printf ("images:          %lld\n", (long long) st.images);
  printf ("scans:           %lld\n", (long long) st.scans);
  printf ("vulnerabilities: %lld\n", (long long) st.vulns);
  printf ("newest scan:     %s\n", newest);
  printf ("last import:     %s\n", imported);
  printf ("modified:        %s (%lld seconds ago)\n", modified, (long long) (now - sb.st_mtime));
  if (bi.from_bundle)
    printf ("index:           %s, activated from a bundle: the hook decides from it, not from this "
            "database\n",
            index);
  bundle_info_print (&bi, now, stdout);
  return 0;
}
