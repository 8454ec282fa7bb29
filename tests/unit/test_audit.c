/* patchgate audit's reading of the runtimes' state roots: a folder per case
   under tests/unit/data/audit holding README (what the case shows),
   case.json ({"roots": [{"path" (below the case), "kind": "runtime" |
   "containerd" | "docker", "optional"}]}), the roots, proc/<pid>/stat (the
   processes the states name, as proc(5) shows them) and expected.json:
   {"containers": [...], "running": [ids]} (every container, stopped ones
   included, in order, then the ids listed by default), or {"error": a
   substring of the error listing must fail with}.  Each container:
   {"id", "namespace", "format", "engine", "bundle", "pid", "start_time",
   "created" (RFC 3339 or null), "status"} or, for a state that cannot be
   read, {"id", "namespace", "format", "engine", "error": a substring}.
   Then --root's syntax, an oversized state.json and the real /proc.  */
#include "suite.h"
#include "audit/runtime_state.h"
#include "base/clock.h"
#include "base/json.h"

#include <sys/stat.h>

static enum pg_root_kind
kind_of (const char *name)
{
  if (name && strcmp (name, "containerd") == 0)
    return PG_ROOT_CONTAINERD;
  if (name && strcmp (name, "docker") == 0)
    return PG_ROOT_DOCKER;
  return PG_ROOT_RUNTIME;
}

static void
expect_str (const char *dir, const char *id, const char *key, json_t *want, const char *got)
{
  if (json_is_null (want) || want == NULL)
    {
      if (got != NULL)
        fail_msg ("%s: %s: %s is `%s`, expected none", dir, id, key, got);
      return;
    }
  if (got == NULL || strcmp (got, json_string_value (want)) != 0)
    fail_msg ("%s: %s: %s is `%s`, expected `%s`", dir, id, key, got ? got : "(none)",
              json_string_value (want));
}

static void
expect_container (const char *dir, json_t *want, const struct pg_runtime_container *c)
{
  const char *id = pg_json_string (want, "id");
  const char *error = pg_json_string (want, "error");

  expect_str (dir, id, "id", json_object_get (want, "id"), c->id);
  expect_str (dir, id, "namespace", json_object_get (want, "namespace"), c->namespace);
  expect_str (dir, id, "format", json_object_get (want, "format"), c->format);
  expect_str (dir, id, "engine", json_object_get (want, "engine"), c->engine);
  if (error)
    {
      if (c->error == NULL || strstr (c->error, error) == NULL)
        fail_msg ("%s: %s: error `%s`, expected one with `%s`", dir, id, c->error ? c->error : "(none)",
                  error);
      return;
    }
  if (c->error)
    fail_msg ("%s: %s: unexpected error `%s`", dir, id, c->error);
  expect_str (dir, id, "bundle", json_object_get (want, "bundle"), c->bundle);
  expect_str (dir, id, "status", json_object_get (want, "status"), pg_run_status_name (c->status));
  if (json_integer_value (json_object_get (want, "pid")) != c->pid)
    fail_msg ("%s: %s: pid %lld, expected %lld", dir, id, (long long) c->pid,
              (long long) json_integer_value (json_object_get (want, "pid")));
  if ((uint64_t) json_integer_value (json_object_get (want, "start_time")) != c->start_time)
    fail_msg ("%s: %s: start_time %llu", dir, id, (unsigned long long) c->start_time);
  {
    json_t *created = json_object_get (want, "created");
    char buf[64] = "";
    if (c->created >= 0)
      format_rfc3339 (c->created, buf, sizeof (buf));
    expect_str (dir, id, "created", created, c->created >= 0 ? buf : NULL);
  }
}

static void
test_roots_case (void **state)
{
  const char *dir = *state;
  cleanup_json json_t *spec = suite_json (dir, "case.json", true);
  cleanup_json json_t *exp = suite_json (dir, "expected.json", true);
  cleanup_free char *proc = NULL;
  cleanup_error pg_error_t err = NULL;
  json_t *roots_json = json_object_get (spec, "roots"), *r;
  size_t n_roots = json_array_size (roots_json), i;
  struct pg_state_root *roots = xmalloc0 ((n_roots + 1) * sizeof (*roots));
  char **paths = xmalloc0 ((n_roots + 1) * sizeof (char *));
  struct pg_runtime_list all = { 0 }, running = { 0 };
  const char *want_error = pg_json_string (exp, "error");

  xasprintf (&proc, "%s/proc", dir);
  json_array_foreach (roots_json, i, r)
    {
      xasprintf (&paths[i], "%s/%s", dir, pg_json_string (r, "path"));
      roots[i].path = paths[i];
      roots[i].kind = kind_of (pg_json_string (r, "kind"));
      roots[i].optional = json_is_true (json_object_get (r, "optional"));
    }
  if (want_error)
    {
      assert_int_equal (pg_runtime_list (roots, n_roots, proc, true, &all, &err), -1);
      if (strstr (err->msg, want_error) == NULL)
        fail_msg ("%s: error `%s`, expected one with `%s`", dir, err->msg, want_error);
      assert_int_equal (all.n, 0);
    }
  else
    {
      json_t *want = json_object_get (exp, "containers");
      json_t *ids = json_object_get (exp, "running");
      if (pg_runtime_list (roots, n_roots, proc, true, &all, &err) < 0)
        fail_msg ("%s: %s", dir, err->msg);
      if (all.n != json_array_size (want))
        fail_msg ("%s: %zu containers, expected %zu", dir, all.n, json_array_size (want));
      for (i = 0; i < all.n; i++)
        expect_container (dir, json_array_get (want, i), &all.v[i]);
      /* By default: the live ones, and every one that cannot be read.  */
      assert_int_equal (pg_runtime_list (roots, n_roots, proc, false, &running, &err), 0);
      if (running.n != json_array_size (ids))
        fail_msg ("%s: %zu listed by default, expected %zu", dir, running.n, json_array_size (ids));
      for (i = 0; i < running.n; i++)
        if (strcmp (running.v[i].id, json_string_value (json_array_get (ids, i))) != 0)
          fail_msg ("%s: listed %s, expected %s", dir, running.v[i].id,
                    json_string_value (json_array_get (ids, i)));
    }
  pg_runtime_list_free (&all);
  pg_runtime_list_free (&running);
  strv_free (paths, n_roots);
  free (roots);
}

static void
test_root_syntax (void **state)
{
  struct pg_state_root r;
  cleanup_error pg_error_t err = NULL;

  (void) state;
  assert_int_equal (pg_state_root_parse ("/run/runc", &r, &err), 0);
  assert_int_equal (r.kind, PG_ROOT_RUNTIME);
  assert_string_equal (r.path, "/run/runc");
  assert_false (r.optional);
  assert_int_equal (pg_state_root_parse ("containerd=/run/containerd/runc", &r, &err), 0);
  assert_int_equal (r.kind, PG_ROOT_CONTAINERD);
  assert_string_equal (r.path, "/run/containerd/runc");
  assert_int_equal (pg_state_root_parse ("docker=/var/run/docker", &r, &err), 0);
  assert_int_equal (r.kind, PG_ROOT_DOCKER);
  assert_string_equal (r.path, "/var/run/docker");
  /* Only a known kind is a prefix: anything else is a path.  */
  assert_int_equal (pg_state_root_parse ("/tmp/a=b", &r, &err), 0);
  assert_int_equal (r.kind, PG_ROOT_RUNTIME);
  assert_string_equal (r.path, "/tmp/a=b");
  assert_int_equal (pg_state_root_parse ("containerd=", &r, &err), -1);
  assert_non_null (strstr (err->msg, "names no directory"));
}

/* A state.json past its bound (16 MiB, config.json's) is an error row, not
   read.  */
static void
test_oversized_state (void **state)
{
  char dir[] = "/tmp/patchgate-audit-XXXXXX";
  cleanup_free char *sub = NULL;
  cleanup_free char *file = NULL;
  cleanup_error pg_error_t err = NULL;
  struct pg_runtime_list l = { 0 };
  struct pg_state_root root = { 0 };
  FILE *f;

  (void) state;
  assert_non_null (mkdtemp (dir));
  xasprintf (&sub, "%s/big", dir);
  assert_int_equal (mkdir (sub, 0700), 0);
  xasprintf (&file, "%s/state.json", sub);
  f = fopen (file, "w");
  assert_non_null (f);
  assert_int_equal (ftruncate (fileno (f), (off_t) PG_MAX_CONFIG_SIZE + 1), 0);
  fclose (f);
  root.path = dir;
  assert_int_equal (pg_runtime_list (&root, 1, NULL, false, &l, &err), 0);
  assert_int_equal (l.n, 1);
  assert_string_equal (l.v[0].id, "big");
  assert_non_null (l.v[0].error);
  assert_null (l.v[0].bundle);
  pg_runtime_list_free (&l);
  unlink (file);
  rmdir (sub);
  rmdir (dir);
}

/* This very process, as /proc shows it.  */
static void
test_proc_self (void **state)
{
  cleanup_free char *buf = NULL;
  unsigned long long start = 0;
  size_t len;
  const char *p;

  (void) state;
  assert_int_equal (read_all_file ("/proc/self/stat", 4096, &buf, &len, NULL), 0);
  p = strrchr (buf, ')');
  assert_non_null (p);
  p += 2;
  for (int field = 3; field < 22; field++)
    p = strchr (p, ' ') + 1;
  start = strtoull (p, NULL, 10);
  assert_int_equal (pg_process_is (NULL, getpid (), start), 1);
  assert_int_equal (pg_process_is ("/proc", getpid (), 0), 1);
  assert_int_equal (pg_process_is (NULL, getpid (), start + 1), 0);
  assert_int_equal (pg_process_is (NULL, 0, 0), 0);
  assert_int_equal (pg_process_is (NULL, -1, 0), 0);
  assert_int_equal (pg_process_is (NULL, (int64_t) 1 << 40, 0), 0);
}

int
main (void)
{
  cleanup_free char *root = suite_path ("tests/unit/data/audit");
  size_t n;
  char **cases = suite_cases (root, &n);
  struct CMUnitTest *tests = xmalloc0 ((n + 3) * sizeof (*tests));
  int ret;

  for (size_t i = 0; i < n; i++)
    {
      char *dir = NULL;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      tests[i] = (struct CMUnitTest){ .name = cases[i], .test_func = test_roots_case, .initial_state = dir };
    }
  tests[n] = (struct CMUnitTest){ .name = "root_syntax", .test_func = test_root_syntax };
  tests[n + 1] = (struct CMUnitTest){ .name = "oversized_state", .test_func = test_oversized_state };
  tests[n + 2] = (struct CMUnitTest){ .name = "proc_self", .test_func = test_proc_self };
  ret = _cmocka_run_group_tests ("audit", tests, n + 3, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free (tests[i].initial_state);
  free (tests);
  strv_free (cases, n);
  return ret;
}
