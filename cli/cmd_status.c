#include "cli.h"
#include "store/store.h"
#include "bundle/bundle.h"
#include "base/clock.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: patchgate status [--db FILE] [--json]\n"
                "\n"
                "Show the policy version, counts of images, scans and vulnerabilities, the newest\n"
                "scan and how old the database is.\n"
                "\n"
                "  --db FILE   policy database (default " PG_DEFAULT_DB ")\n"
                "  --json      print the same as JSON\n"
                "  -h, --help  show this help\n");
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
      fprintf (out, "bundle source:   %s\n", bi->source ? bi->source : "?");
    }
  else
    fprintf (out, "bundle:          none (database built locally; max_policy_age does not apply)\n");
  if (bi->has_sync)
    {
      time_and_age (bi->sync_time, now, buf, sizeof (buf));
      fprintf (out, "last sync:       %s %s: %s\n", buf, bi->sync_url ? bi->sync_url : "",
               bi->sync_result ? bi->sync_result : "?");
    }
}

int
cmd_status (int argc, char **argv)
{
  static const struct option opts[] = { { "db", required_argument, NULL, 'd' },
                                        { "json", no_argument, NULL, 'j' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *db = PG_DEFAULT_DB;
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
  if (pg_now (&now, &err) < 0 || store_open (db, PG_STORE_READONLY, &store, &err) < 0
      || store_begin (store, false, &err) < 0 || store_status (store, &st, &err) < 0
      || store_get_policy (store, &policy, &version, &set_at, &err) < 0
      || bundle_info_read (store, db, &bi, &err) < 0)
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
          "{s:s, s:s?, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:i}", "database", db, "policy_version",
          version, "policy_set_at", policy_at, "images", (json_int_t) st.images, "scans",
          (json_int_t) st.scans, "vulnerabilities", (json_int_t) st.vulns, "newest_scan", newest,
          "last_import", imported, "modified", modified, "age_seconds", (json_int_t) (now - sb.st_mtime),
          "schema_version", st.schema_version);
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
  bundle_info_print (&bi, now, stdout);
  return 0;
}
