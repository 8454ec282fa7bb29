/* patchgate doctor's readers: oci-hooks(5) files as podman reads them (a
   folder per case under tests/unit/data/doctor/hooks: hook.json and what
   podman makes of it), hooks.d directories merged as podman merges them,
   Go regexp syntax (tests/unit/data/doctor/goregexp.tsv), the engines'
   TOML, and the root-only rule.  */
#include "suite.h"
#include "doctor/goregexp.h"
#include "doctor/ocihooks.h"
#include "doctor/owner.h"
#include "base/toml.h"
#include "base/json.h"

#include <sys/stat.h>

static void
expect_bool (json_t *exp, const char *key, bool got, const char *dir)
{
  json_t *v = json_object_get (exp, key);
  if (v == NULL)
    return;
  if (json_is_true (v) != got)
    fail_msg ("%s: %s is %s, expected %s", dir, key, got ? "true" : "false",
              json_is_true (v) ? "true" : "false");
}

static void
test_hook_case (void **state)
{
  const char *dir = *state;
  cleanup_json json_t *exp = suite_json (dir, "expect.json", true);
  cleanup_error pg_error_t err = NULL;
  struct pg_oci_hook_file f;
  char *ext[] = { "precreate", "poststop" };
  const char *want;

  assert_int_equal (pg_oci_hook_read (dir, "hook.json", ext, 2, &f, &err), 0);
  expect_bool (exp, "loaded", f.loaded, dir);
  expect_bool (exp, "missing_binary", f.missing_binary, dir);
  expect_bool (exp, "legacy", f.legacy, dir);
  if (f.loaded)
    {
      expect_bool (exp, "runs_always", f.runs_always, dir);
      expect_bool (exp, "gates", f.gates, dir);
    }
  want = pg_json_string (exp, "error");
  if (want && (f.error == NULL || strstr (f.error, want) == NULL))
    fail_msg ("%s: error `%s`, expected one with `%s`", dir, f.error ? f.error : "(none)", want);
  if (json_is_false (json_object_get (exp, "loaded")) && f.error == NULL)
    fail_msg ("%s: not loaded but no error", dir);
  want = pg_json_string (exp, "why");
  if (want)
    {
      const char *why = f.when_why && !f.runs_always ? f.when_why : f.stages_why;
      if (why == NULL || strstr (why, want) == NULL)
        fail_msg ("%s: why `%s`, expected one with `%s`", dir, why ? why : "(none)", want);
    }
  pg_oci_hook_file_free (&f);
}

static void
test_goregexp (void **state)
{
  cleanup_free char *path = suite_path ("tests/unit/data/doctor/goregexp.tsv");
  cleanup_free char *buf = NULL;
  char *line, *save = NULL;
  size_t len, n = 0;

  (void) state;
  assert_int_equal (read_all_file (path, 1 << 20, &buf, &len, NULL), 0);
  for (line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *tab = strchr (line, '\t');
      char *why = NULL;
      bool want_valid;
      int r;
      if (line[0] == '#' || tab == NULL)
        continue;
      *tab = '\0';
      want_valid = strcmp (line, "valid") == 0;
      r = pg_go_regexp_check (tab + 1, &why);
      if (want_valid && r != 0)
        fail_msg ("`%s` should be valid, got: %s", tab + 1, why);
      if (!want_valid && r == 0)
        fail_msg ("`%s` should be invalid", tab + 1);
      free (why);
      n++;
    }
  assert_true (n > 90);
}

static char *
temp_dir (void)
{
  char *d = xstrdup ("/tmp/pg-doctor-XXXXXX");
  assert_non_null (mkdtemp (d));
  return d;
}

static void
put (const char *dir, const char *sub, const char *name, const char *text)
{
  cleanup_free char *d = NULL;
  cleanup_free char *p = NULL;
  xasprintf (&d, "%s/%s", dir, sub);
  mkdir (d, 0755);
  xasprintf (&p, "%s/%s", d, name);
  assert_int_equal (pg_write_file_atomic (p, text, strlen (text), NULL), 0);
}

#define GOOD                                                                                                 \
  "{\"version\": \"1.0.0\", \"hook\": {\"path\": \"/bin/sh\"}, \"when\": {\"always\": true}, \"stages\": "   \
  "[\"createRuntime\"]}"
#define MISSING                                                                                              \
  "{\"version\": \"1.0.0\", \"hook\": {\"path\": \"/nonexistent/patchgate-hook\"}, \"when\": {\"always\": "  \
  "true}, \"stages\": [\"createRuntime\"]}"
#define BADSTAGE                                                                                             \
  "{\"version\": \"1.0.0\", \"hook\": {\"path\": \"/bin/sh\"}, \"when\": {\"always\": true}, \"stages\": "   \
  "[\"bogus\"]}"

static const struct pg_oci_hook_file *
find_file (const struct pg_oci_hooks *set, const char *sub, const char *name)
{
  for (size_t i = 0; i < set->n_files; i++)
    if (strcmp (set->files[i].name, name) == 0 && strstr (set->files[i].dir, sub))
      return &set->files[i];
  return NULL;
}

static void
rm_tree (const char *dir)
{
  cleanup_free char *cmd = NULL;
  xasprintf (&cmd, "rm -rf '%s'", dir);
  assert_int_equal (system (cmd), 0);
}

/* hooks.New: the first error of a directory decides whether the engine
   ignores them all (a missing binary) or fails (anything else).  */
static void
test_scan_errors (void **state)
{
  cleanup_free char *root = temp_dir ();
  char *dirs[3];
  cleanup_oci_hooks struct pg_oci_hooks set = { 0 };

  (void) state;
  put (root, "a", "a.json", MISSING);
  put (root, "a", "b.json", BADSTAGE);
  put (root, "a", "c.txt", "not a hook");
  put (root, "b", "a.json", BADSTAGE);
  put (root, "b", "b.json", MISSING);
  xasprintf (&dirs[0], "%s/a", root);
  xasprintf (&dirs[1], "%s/missing", root);
  xasprintf (&dirs[2], "%s/b", root);

  assert_int_equal (pg_oci_hooks_scan (dirs, 2, NULL, 0, &set, NULL), 0);
  assert_null (set.fatal);
  assert_int_equal (set.n_files, 2);
  assert_true (find_file (&set, "/a", "a.json")->missing_binary);
  assert_non_null (strstr (find_file (&set, "/a", "b.json")->error, "unknown stage"));
  pg_oci_hooks_free (&set);

  assert_int_equal (pg_oci_hooks_scan (dirs, 3, NULL, 0, &set, NULL), 0);
  assert_non_null (set.fatal);
  assert_non_null (strstr (set.fatal, "unknown stage \"bogus\""));
  pg_oci_hooks_free (&set);
  for (int i = 0; i < 3; i++)
    free (dirs[i]);
  rm_tree (root);
}

/* A later directory's file of the same name takes the place of an
   earlier one only when it loads.  */
static void
test_scan_override (void **state)
{
  cleanup_free char *root = temp_dir ();
  char *dirs[2];
  cleanup_oci_hooks struct pg_oci_hooks set = { 0 };

  (void) state;
  put (root, "usr", "patchgate.json", GOOD);
  put (root, "etc", "patchgate.json", GOOD);
  xasprintf (&dirs[0], "%s/usr", root);
  xasprintf (&dirs[1], "%s/etc", root);
  assert_int_equal (pg_oci_hooks_scan (dirs, 2, NULL, 0, &set, NULL), 0);
  assert_true (find_file (&set, "/usr", "patchgate.json")->overridden);
  assert_false (find_file (&set, "/etc", "patchgate.json")->overridden);
  pg_oci_hooks_free (&set);

  put (root, "etc", "patchgate.json", MISSING);
  assert_int_equal (pg_oci_hooks_scan (dirs, 2, NULL, 0, &set, NULL), 0);
  assert_false (find_file (&set, "/usr", "patchgate.json")->overridden);
  assert_true (find_file (&set, "/etc", "patchgate.json")->missing_binary);
  assert_null (set.fatal);
  for (int i = 0; i < 2; i++)
    free (dirs[i]);
  rm_tree (root);
}

static const struct pg_toml_entry *
toml_get (const struct pg_toml *doc, const char *a, const char *b, const char *c, const char *d,
          const char *e, const char *f)
{
  const char *key[] = { a, b, c, d, e, f };
  size_t n = 0;
  while (n < 6 && key[n])
    n++;
  return pg_toml_find (doc, key, n);
}

static void
test_toml (void **state)
{
  static const char conf[] = "# containers.conf\n"
                             "[containers]\n"
                             "default_ulimits = [\"nofile=1024:1024\", # a comment\n"
                             "  'nproc=1024:1024',\n"
                             "]\n"
                             "inline = { a = 1, b = [1, 2] }\n"
                             "[engine]   # the engine\n"
                             "hooks_dir = [\n"
                             "  \"/usr/local/share/containers/oci/hooks.d\",\n"
                             "  \"/etc/containers/oci/hooks.d\",  # later wins\n"
                             "]\n"
                             "num = -3\n"
                             "on = true\n"
                             "ml = \"\"\"\nline\\\n   more\"\"\"\n"
                             "[[engine.helper]]\n"
                             "hooks_dir = [\"/not/this\"]\n"
                             "[engine.runtimes]\n"
                             "runc = [\"/usr/bin/runc\"]\n";
  static const char ctrd[] = "version = 2\n"
                             "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
                             "  runtime_type = \"io.containerd.runc.v2\"\n"
                             "  base_runtime_spec = \"/etc/containerd/patchgate-base-spec.json\"\n"
                             "[plugins.'io.containerd.grpc.v1.cri'.containerd]\n"
                             "  default_runtime_name = \"runc\"\n";
  struct pg_toml doc;
  pg_error_t err = NULL;
  const struct pg_toml_entry *e;

  (void) state;
  assert_int_equal (pg_toml_parse (conf, strlen (conf), "containers.conf", &doc, &err), 0);
  e = toml_get (&doc, "engine", "hooks_dir", NULL, NULL, NULL, NULL);
  assert_non_null (e);
  assert_int_equal (e->type, PG_TOML_STRINGS);
  assert_int_equal (e->n_strv, 2);
  assert_string_equal (e->strv[1], "/etc/containers/oci/hooks.d");
  e = toml_get (&doc, "containers", "default_ulimits", NULL, NULL, NULL, NULL);
  assert_int_equal (e->n_strv, 2);
  assert_string_equal (e->strv[1], "nproc=1024:1024");
  assert_int_equal (toml_get (&doc, "containers", "inline", NULL, NULL, NULL, NULL)->type, PG_TOML_OTHER);
  assert_int_equal (toml_get (&doc, "engine", "num", NULL, NULL, NULL, NULL)->integer, -3);
  assert_true (toml_get (&doc, "engine", "on", NULL, NULL, NULL, NULL)->boolean);
  assert_string_equal (toml_get (&doc, "engine", "ml", NULL, NULL, NULL, NULL)->str, "linemore");
  assert_null (toml_get (&doc, "engine", "helper", "hooks_dir", NULL, NULL, NULL));
  assert_string_equal (toml_get (&doc, "engine", "runtimes", "runc", NULL, NULL, NULL)->strv[0],
                       "/usr/bin/runc");
  pg_toml_free (&doc);

  assert_int_equal (pg_toml_parse (ctrd, strlen (ctrd), "config.toml", &doc, &err), 0);
  e = toml_get (&doc, "plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc",
                "base_runtime_spec");
  assert_non_null (e);
  assert_string_equal (e->str, "/etc/containerd/patchgate-base-spec.json");
  assert_string_equal (toml_get (&doc, "plugins", "io.containerd.grpc.v1.cri", "containerd",
                                 "default_runtime_name", NULL, NULL)
                           ->str,
                       "runc");
  assert_int_equal (toml_get (&doc, "version", NULL, NULL, NULL, NULL, NULL)->integer, 2);
  pg_toml_free (&doc);

  /* What the engines' parsers refuse, doctor reports as refused.  */
  static const char *const bad[] = { "[engine]\nhooks_dir = [\"/a\"\n", "hooks_dir = \"/a\n", "[engine\n",
                                     "just words\n", "a = \"x\" trailing\n" };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      assert_int_equal (pg_toml_parse (bad[i], strlen (bad[i]), "bad.toml", &doc, &err), -1);
      assert_non_null (strstr (err->msg, "bad.toml:"));
      pg_error_release (&err);
    }
}

static void
test_root_only (void **state)
{
  cleanup_free char *root = temp_dir ();
  cleanup_free char *file = NULL;
  cleanup_free char *sub = NULL;
  char *why = NULL;
  bool missing;

  (void) state;
  if (geteuid () != 0)
    skip ();
  xasprintf (&sub, "%s/d", root);
  assert_int_equal (mkdir (sub, 0755), 0);
  xasprintf (&file, "%s/f", sub);
  put (root, "d", "f", "x");
  chmod (root, 0700);
  assert_int_equal (pg_root_only (file, &missing, &why), 1);
  /* The hook's own rule (base/trusted_path.h), so doctor says what the
     hook will do.  */
  assert_int_equal (chmod (file, 0664), 0);
  assert_int_equal (pg_root_only (file, &missing, &why), 0);
  assert_non_null (strstr (why, "writable by group or others (mode 0664)"));
  free (why);
  assert_int_equal (chmod (file, 0644), 0);
  assert_int_equal (chmod (sub, 0777), 0);
  assert_int_equal (pg_root_only (file, &missing, &why), 0);
  assert_non_null (strstr (why, "writable by group or others (mode 0777)"));
  free (why);
  /* The file's own directory may not be writable by others even when
     sticky (writers put their lock and temporary files there)...  */
  assert_int_equal (chmod (sub, 01777), 0);
  assert_int_equal (pg_root_only (file, &missing, &why), 0);
  free (why);
  /* ... a sticky one further up, as /tmp, is fine.  */
  assert_int_equal (chmod (sub, 0755), 0);
  assert_int_equal (chmod (root, 01777), 0);
  assert_int_equal (pg_root_only (file, &missing, &why), 1);
  assert_int_equal (chown (file, 1000, 1000), 0);
  assert_int_equal (pg_root_only (file, &missing, &why), 0);
  assert_non_null (strstr (why, "1000"));
  free (why);
  assert_int_equal (pg_root_only ("/nonexistent/x", &missing, &why), -1);
  assert_true (missing);
  free (why);
  rm_tree (root);
}

int
main (void)
{
  cleanup_free char *root = suite_path ("tests/unit/data/doctor/hooks");
  size_t n;
  char **cases = suite_cases (root, &n);
  struct CMUnitTest *tests = xmalloc0 ((n + 6) * sizeof (*tests));
  int ret;

  for (size_t i = 0; i < n; i++)
    {
      char *dir = NULL;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      tests[i] = (struct CMUnitTest){ .name = cases[i], .test_func = test_hook_case, .initial_state = dir };
    }
  tests[n] = (struct CMUnitTest){ .name = "goregexp", .test_func = test_goregexp };
  tests[n + 1] = (struct CMUnitTest){ .name = "scan_errors", .test_func = test_scan_errors };
  tests[n + 2] = (struct CMUnitTest){ .name = "scan_override", .test_func = test_scan_override };
  tests[n + 3] = (struct CMUnitTest){ .name = "toml", .test_func = test_toml };
  tests[n + 4] = (struct CMUnitTest){ .name = "root_only", .test_func = test_root_only };
  ret = _cmocka_run_group_tests ("doctor", tests, n + 5, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free (tests[i].initial_state);
  free (tests);
  strv_free (cases, n);
  return ret;
}
