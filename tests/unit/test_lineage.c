/* Image lineage and `report rebuilds`: one folder per case under
   tests/unit/data/lineage/:
     images.json    [{"name", "tags": ["repo:tag"], "layers": ["L1", ...],
                      "scanned_at": RFC 3339}], recorded in order (one scan
                    each; a name given twice is the same image scanned again)
     query.json     {"base": null | "repo[:tag]" | NAME (that image's digest),
                     "revoked": [NAME...]}
     expected.json  {"parents": {NAME: NAME | null}, "rebuilds": the JSON of
                     lineage_rebuilds_json with every digest written as its
                     NAME} or {"error": "substring of the message"}.  */
#include "suite.h"
#include "lineage/lineage.h"
#include "base/clock.h"

struct names
{
  char **name;
  size_t n_name;
  char **digest;
  size_t n_digest;
};

static const char *
find_digest (const struct names *nm, const char *name)
{
  for (size_t i = 0; i < nm->n_name; i++)
    if (strcmp (nm->name[i], name) == 0)
      return nm->digest[i];
  return NULL;
}

/* NAME's digest: "sha256:000...N" for the Nth name.  */
static const char *
digest_of (struct names *nm, const char *name)
{
  char buf[80];
  if (find_digest (nm, name))
    return find_digest (nm, name);
  snprintf (buf, sizeof (buf), "sha256:%064zu", nm->n_name + 1);
  strv_append (&nm->name, &nm->n_name, name);
  strv_append (&nm->digest, &nm->n_digest, buf);
  return nm->digest[nm->n_digest - 1];
}

static const char *
name_of (const struct names *nm, const char *digest)
{
  for (size_t i = 0; i < nm->n_digest; i++)
    if (strcmp (nm->digest[i], digest) == 0)
      return nm->name[i];
  return NULL;
}

/* Every string that is a known digest, written as its name.  */
static void
rename_digests (json_t *j, const struct names *nm)
{
  size_t i;
  const char *k;
  json_t *v;

  if (json_is_object (j))
    json_object_foreach (j, k, v)
      {
        if (json_is_string (v) && name_of (nm, json_string_value (v)))
          json_object_set_new (j, k, json_string (name_of (nm, json_string_value (v))));
        else
          rename_digests (v, nm);
      }
  else if (json_is_array (j))
    json_array_foreach (j, i, v)
      {
        if (json_is_string (v) && name_of (nm, json_string_value (v)))
          json_array_set_new (j, i, json_string (name_of (nm, json_string_value (v))));
        else
          rename_digests (v, nm);
      }
}

static void
record_images (pg_store *st, json_t *images, struct names *nm)
{
  size_t i, j;
  json_t *e, *v;
  pg_error_t err = NULL;

  json_array_foreach (images, i, e)
    {
      struct pg_scan s = { 0 };
      s.scanner = xstrdup ("trivy");
      assert_int_equal (parse_rfc3339 (json_string_value (json_object_get (e, "scanned_at")), &s.scanned_at),
                        0);
      s.image_id = xstrdup (digest_of (nm, json_string_value (json_object_get (e, "name"))));
      json_array_foreach (json_object_get (e, "tags"), j, v)
        strv_append (&s.repo_tags, &s.n_repo_tags, json_string_value (v));
      json_array_foreach (json_object_get (e, "layers"), j, v)
        strv_append (&s.diff_ids, &s.n_diff_ids, json_string_value (v));
      assert_int_equal (store_begin (st, true, &err), 0);
      if (store_add_scan (st, &s, s.scanned_at, &err) < 0)
        fail_msg ("recording %s: %s", s.image_id, err->msg);
      assert_int_equal (store_commit (st, &err), 0);
      pg_scan_free (&s);
    }
}

static json_t *
parents_json (const struct pg_lineage *l, const struct names *nm)
{
  json_t *j = json_object ();
  for (size_t i = 0; i < l->cat->n_images; i++)
    {
      size_t p = l->parent[i];
      json_object_set_new (j, name_of (nm, l->cat->images[i].digest),
                           p == PG_LINEAGE_NONE ? json_null ()
                                                : json_string (name_of (nm, l->cat->images[p].digest)));
    }
  return j;
}

static void
run_case (const char *dir, const char *name)
{
  cleanup_temp_db char *db = suite_temp_db ();
  cleanup_store pg_store *st = NULL;
  cleanup_json json_t *images = suite_json (dir, "images.json", true);
  cleanup_json json_t *query = suite_json (dir, "query.json", true);
  cleanup_json json_t *expected = suite_json (dir, "expected.json", true);
  cleanup_catalog struct pg_catalog cat = { 0 };
  cleanup_lineage struct pg_lineage lin = { 0 };
  cleanup_rebuilds struct pg_rebuilds res = { 0 };
  cleanup_free int64_t *revoked = NULL;
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  struct pg_rebuild_query q = { 0 };
  struct names nm = { 0 };
  const char *base = json_string_value (json_object_get (query, "base"));
  pg_error_t err = NULL;
  size_t i;
  json_t *v;
  int r;

  assert_int_equal (store_open (db, PG_STORE_CREATE, &st, &err), 0);
  record_images (st, images, &nm);
  json_array_foreach (json_object_get (query, "revoked"), i, v)
    {
      int64_t row;
      assert_int_equal (store_find_image_rowid (st, digest_of (&nm, json_string_value (v)), &row, &err), 1);
      revoked = xrealloc (revoked, (q.n_revoked + 1) * sizeof (*revoked));
      revoked[q.n_revoked++] = row;
    }
  q.revoked = revoked;
  q.all = base == NULL;
  if (base && find_digest (&nm, base))
    assert_int_equal (store_find_image_rowid (st, find_digest (&nm, base), &q.image, &err), 1);
  else if (base)
    {
      assert_int_equal (image_ref_parse (base, &repo, &tag, NULL), 0);
      q.repository = repo;
      q.tag = tag;
    }
  assert_int_equal (store_begin (st, false, &err), 0);
  assert_int_equal (store_catalog_load (st, &cat, &err), 0);
  store_rollback (st);
  lineage_build (&cat, &lin);
  r = lineage_rebuilds (&lin, &q, &res, &err);
  if (json_object_get (expected, "error"))
    {
      if (r == 0)
        fail_msg ("%s: expected an error", name);
      if (strstr (err->msg, json_string_value (json_object_get (expected, "error"))) == NULL)
        fail_msg ("%s: error `%s` does not say `%s`", name, err->msg,
                  json_string_value (json_object_get (expected, "error")));
      pg_error_release (&err);
    }
  else
    {
      cleanup_json json_t *got = lineage_rebuilds_json (&lin, &res);
      cleanup_json json_t *parents = parents_json (&lin, &nm);
      if (r < 0)
        fail_msg ("%s: %s", name, err->msg);
      rename_digests (got, &nm);
      if (getenv ("PATCHGATE_WRITE_EXPECTED"))
        {
          /* Writing the cases' expectations anew, to be read over.  */
          cleanup_free char *path = NULL;
          cleanup_json json_t *out = json_pack ("{s:O, s:O}", "parents", parents, "rebuilds", got);
          xasprintf (&path, "%s/expected.json", dir);
          json_dump_file (out, path, JSON_INDENT (2) | JSON_ENSURE_ASCII);
          return;
        }
      if (!json_equal (parents, json_object_get (expected, "parents")))
        {
          cleanup_free char *text = json_dumps (parents, JSON_INDENT (2) | JSON_SORT_KEYS);
          fail_msg ("%s: parents differ; got\n%s", name, text);
        }
      if (!json_equal (got, json_object_get (expected, "rebuilds")))
        {
          cleanup_free char *text = json_dumps (got, JSON_INDENT (2));
          fail_msg ("%s: rebuilds differ; got\n%s", name, text);
        }
    }
  strv_free (nm.name, nm.n_name);
  strv_free (nm.digest, nm.n_digest);
}

static void
test_lineage_cases (void **state)
{
  cleanup_free char *dir = suite_path ("tests/unit/data/lineage");
  size_t n;
  char **cases = suite_cases (dir, &n);

  assert_true (n > 0);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *c = NULL;
      xasprintf (&c, "%s/%s", dir, cases[i]);
      print_message ("lineage case %s\n", cases[i]);
      run_case (c, cases[i]);
    }
  strv_free (cases, n);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_lineage_cases),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
