#include "config/hook_config.h"
#include "index/index.h"
#include "base/json.h"
#include "base/clock.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>

static const struct
{
  const char *name;
  int value;
} facilities[] = {
  { "auth", LOG_AUTH },     { "authpriv", LOG_AUTHPRIV }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
  { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },     { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
  { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },     { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static int
parse_facility (const char *name, int *out)
{
  for (size_t i = 0; i < sizeof (facilities) / sizeof (facilities[0]); i++)
    if (strcmp (facilities[i].name, name) == 0)
      {
        *out = facilities[i].value;
        return 0;
      }
  return -1;
}

static void
config_defaults (struct pg_hook_config *cfg)
{
  memset (cfg, 0, sizeof (*cfg));
  cfg->policy_db = xstrdup (PG_DEFAULT_DB);
  cfg->syslog_facility = LOG_AUTHPRIV;
  cfg->policy_stale = PG_VERDICT_DENY;
  cfg->timeout_ms = PG_DEFAULT_TIMEOUT_MS;
  cfg->scan_history = -1;
  cfg->index_max_lag = PG_INDEX_DEFAULT_MAX_LAG;
  cfg->metrics_interval = PG_DEFAULT_METRICS_INTERVAL;
}

int
hook_config_parse_history (const char *s, int64_t *out)
{
  if (s && strcmp (s, "all") == 0)
    {
      *out = -1;
      return 0;
    }
  return s ? parse_duration (s, out) : -1;
}

/* `timeout`: the hook's total deadline, a duration ("5s", "1m") or a number
   of seconds (2.5), more than 0 and at most an hour.  */
static int
config_parse_timeout (json_t *v, struct pg_hook_config *cfg, pg_error_t *err)
{
  int64_t secs;
  double d;

  if (json_is_string (v) && parse_duration (json_string_value (v), &secs) == 0 && secs > 0 && secs <= 3600)
    {
      cfg->timeout_ms = secs * 1000;
      return 0;
    }
  d = json_is_number (v) ? json_number_value (v) : -1;
  if (d > 0 && d <= 3600)
    {
      cfg->timeout_ms = (int64_t) (d * 1000);
      if (cfg->timeout_ms < 1)
        cfg->timeout_ms = 1;
      return 0;
    }
  return pg_make_error (err, 0,
                        "timeout: must be a duration such as \"5s\" or a number of seconds, at most 1h");
}

/* trusted_keys, max_policy_age, policy_stale.  Returns 1 when KEY is one of
   them, 0 when not, -1 on a bad value.  */
static int
config_parse_bundle_field (const char *key, json_t *v, struct pg_hook_config *cfg, pg_error_t *err)
{
  const char *s = json_string_value (v);
  size_t i;
  json_t *k;

  if (strcmp (key, "trusted_keys") == 0)
    {
      if (!json_is_array (v))
        return pg_make_error (err, 0, "trusted_keys: must be an array of PEM public key paths");
      json_array_foreach (v, i, k)
        {
          if (!json_is_string (k) || json_string_value (k)[0] != '/')
            return pg_make_error (err, 0, "trusted_keys[%zu]: must be an absolute path", i);
          strv_append (&cfg->trusted_keys, &cfg->n_trusted_keys, json_string_value (k));
        }
      return 1;
    }
  if (strcmp (key, "max_policy_age") == 0)
    {
      if (s == NULL || parse_duration (s, &cfg->max_policy_age) < 0)
        return pg_make_error (err, 0, "max_policy_age: must be a duration such as \"7d\" or \"36h\"");
      return 1;
    }
  if (strcmp (key, "policy_stale") == 0)
    {
      if (s && strcmp (s, "deny") == 0)
        cfg->policy_stale = PG_VERDICT_DENY;
      else if (s && strcmp (s, "audit") == 0)
        cfg->policy_stale = PG_VERDICT_AUDIT;
      else if (s && strcmp (s, "allow") == 0)
        cfg->policy_stale = PG_VERDICT_ALLOW;
      else
        return pg_make_error (err, 0, "policy_stale: must be \"deny\", \"audit\" or \"allow\"");
      return 1;
    }
  return 0;
}

/* A storage driver name is a directory prefix (<driver>-containers):
   letters and digits only.  overlay2 is containers/storage's alias.  */
static int
config_set_driver (json_t *v, struct pg_hook_config *cfg, pg_error_t *err)
{
  const char *s = json_string_value (v);
  size_t n = s ? strlen (s) : 0;

  if (n == 0 || n > 32 || strspn (s, "abcdefghijklmnopqrstuvwxyz0123456789") != n)
    return pg_make_error (err, 0, "storage_driver: must be a driver name such as \"overlay\" or \"vfs\"");
  free (cfg->storage_driver);
  cfg->storage_driver = xstrdup (strcmp (s, "overlay2") == 0 ? "overlay" : s);
  return 1;
}

/* storage_conf, storage_graphroot, storage_runroot, storage_driver,
   docker_root, runtime_path, runtime_engine: engines' metadata and the
   runtime wrapper.
   Returns 1 when KEY is one of them, 0 when not, -1 on a bad value.  */
static int
config_parse_engine_field (const char *key, json_t *v, struct pg_hook_config *cfg, pg_error_t *err)
{
  static const char *const paths[]
      = { "storage_conf", "storage_graphroot", "storage_runroot", "docker_root", "runtime_path" };
  char **fields[] = { &cfg->storage_conf, &cfg->storage_graphroot, &cfg->storage_runroot, &cfg->docker_root,
                      &cfg->runtime_path };

  if (strcmp (key, "storage_driver") == 0)
    return config_set_driver (v, cfg, err);
  if (strcmp (key, "runtime_engine") == 0)
    {
      /* The name is checked where it is used (identify/resolve.c).  */
      if (!json_is_string (v) || json_string_length (v) == 0 || json_string_length (v) > 64)
        return pg_make_error (err, 0, "runtime_engine: must be an engine name (docker, containerd, runc)");
      free (cfg->runtime_engine);
      cfg->runtime_engine = xstrdup (json_string_value (v));
      return 1;
    }
  for (size_t i = 0; i < sizeof (paths) / sizeof (paths[0]); i++)
    if (strcmp (key, paths[i]) == 0)
      {
        if (!json_is_string (v) || json_string_value (v)[0] != '/')
          return pg_make_error (err, 0, "%s: must be an absolute path", key);
        free (*fields[i]);
        *fields[i] = xstrdup (json_string_value (v));
        return 1;
      }
  return 0;
}

/* metrics_textfile, metrics_counters.  Returns 1 when KEY is one of them,
   0 when not, -1 on a bad value.  */
static int
config_parse_metrics_field (const char *key, json_t *v, struct pg_hook_config *cfg, pg_error_t *err)
{
  const char *s = json_string_value (v);
  const char *base;
  char **field;

  if (strcmp (key, "metrics_textfile") == 0)
    field = &cfg->metrics_textfile;
  else if (strcmp (key, "metrics_counters") == 0)
    field = &cfg->metrics_counters;
  else
    return 0;
  if (s == NULL || s[0] != '/' || strstr (s, "/../") || strstr (s, "/./"))
    return pg_make_error (err, 0, "%s: must be an absolute path", key);
  base = strrchr (s, '/') + 1;
  if (base[0] == '\0' || base[0] == '.' || strlen (base) > 200)
    return pg_make_error (err, 0, "%s: must name a file (not starting with \".\", at most 200 bytes)", key);
  if (field == &cfg->metrics_textfile
      && (strlen (base) <= 5 || strcmp (base + strlen (base) - 5, ".prom") != 0))
    return pg_make_error (err, 0,
                          "metrics_textfile: must end in \".prom\" (node_exporter reads only *.prom)");
  free (*field);
  *field = xstrdup (s);
  return 1;
}

static int
config_parse (json_t *doc, struct pg_hook_config *cfg, pg_error_t *err)
{
  const char *key;
  json_t *v;
  int r;

  if (!json_is_object (doc))
    return pg_make_error (err, 0, "the hook config must be a JSON object");
  json_object_foreach (doc, key, v)
    {
      if (strcmp (key, "policy_db") == 0 || strcmp (key, "policy_index") == 0)
        {
          char **field = key[7] == 'd' ? &cfg->policy_db : &cfg->policy_index;
          if (!json_is_string (v) || json_string_value (v)[0] != '/')
            return pg_make_error (err, 0, "%s: must be an absolute path", key);
          free (*field);
          *field = xstrdup (json_string_value (v));
        }
      else if (strcmp (key, "metrics_interval") == 0)
        {
          const char *s = json_string_value (v);
          if (s == NULL || parse_duration (s, &cfg->metrics_interval) < 0 || cfg->metrics_interval > 86400)
            return pg_make_error (err, 0,
                                  "metrics_interval: must be a duration of at most a day such as \"10s\" "
                                  "(\"0s\": after every decision)");
        }
      else if (strcmp (key, "index_max_lag") == 0)
        {
          const char *s = json_string_value (v);
          if (s == NULL || parse_duration (s, &cfg->index_max_lag) < 0 || cfg->index_max_lag <= 0)
            return pg_make_error (err, 0, "index_max_lag: must be a duration such as \"10m\" or \"30s\"");
        }
      else if (strcmp (key, "on_error") == 0)
        {
          const char *s = json_string_value (v);
          if (s == NULL || (strcmp (s, "deny") != 0 && strcmp (s, "allow") != 0))
            return pg_make_error (err, 0, "on_error: must be \"deny\" or \"allow\"");
          cfg->on_error_allow = strcmp (s, "allow") == 0;
        }
      else if (strcmp (key, "syslog_facility") == 0)
        {
          const char *s = json_string_value (v);
          if (s == NULL || parse_facility (s, &cfg->syslog_facility) < 0)
            return pg_make_error (err, 0,
                                  "syslog_facility: `%s` is not a facility (auth, authpriv, daemon, user, "
                                  "local0..local7)",
                                  s ? s : "?");
        }
      else if (strcmp (key, "test_clock") == 0)
        {
          if (!json_is_boolean (v))
            return pg_make_error (err, 0, "test_clock: must be true or false (true only on test hosts)");
          cfg->test_clock = json_is_true (v);
        }
      else if (strcmp (key, "scan_history") == 0)
        {
          if (hook_config_parse_history (json_string_value (v), &cfg->scan_history) < 0)
            return pg_make_error (err, 0, "scan_history: must be \"all\" or a duration such as \"90d\"");
        }
      else if (strcmp (key, "timeout") == 0)
        {
          if (config_parse_timeout (v, cfg, err) < 0)
            return -1;
        }
      else if (strcmp (key, "annotation_keys") == 0)
        {
          size_t i;
          json_t *k;
          if (!json_is_array (v))
            return pg_make_error (err, 0, "annotation_keys: must be an array of strings");
          json_array_foreach (v, i, k)
            {
              if (!json_is_string (k) || json_string_length (k) == 0)
                return pg_make_error (err, 0, "annotation_keys[%zu]: must be a non-empty string", i);
              strv_append (&cfg->annotation_keys, &cfg->n_annotation_keys, json_string_value (k));
            }
        }
      else if ((r = config_parse_bundle_field (key, v, cfg, err)) != 0)
        {
          if (r < 0)
            return -1;
        }
      else if ((r = config_parse_engine_field (key, v, cfg, err)) != 0)
        {
          if (r < 0)
            return -1;
        }
      else if ((r = config_parse_metrics_field (key, v, cfg, err)) != 0)
        {
          if (r < 0)
            return -1;
        }
      else
        return pg_make_error (err, 0, "%s: unknown field", key);
    }
  return 0;
}

const char *
hook_config_env_path (const char *given)
{
  const char *env = getenv ("PATCHGATE_CONFIG");
  if (given)
    return given;
  return env && *env ? env : NULL;
}

int
hook_config_load (const char *path, struct pg_hook_config *cfg, pg_error_t *err)
{
  cleanup_json json_t *doc = NULL;
  bool named = path != NULL;

  config_defaults (cfg);
  if (!named)
    path = PG_DEFAULT_HOOK_CONFIG;
  if (!named && access (path, F_OK) < 0 && errno == ENOENT)
    {
      hook_config_set_db (cfg, NULL);
      return 0;
    }
  cfg->path = xstrdup (path);
  if (pg_json_load_file (path, PG_MAX_HOOK_CONFIG_SIZE, &doc, err) < 0)
    return pg_error_wrap (err, "hook config");
  if (config_parse (doc, cfg, err) < 0)
    return pg_error_wrap (err, "hook config %s", path);
  hook_config_set_db (cfg, NULL);
  /* The counters beside the database, which only root writes already.  */
  if (cfg->metrics_textfile && cfg->metrics_counters == NULL)
    {
      const char *slash = strrchr (cfg->policy_db, '/');
      xasprintf (&cfg->metrics_counters, "%.*s/metrics.counters", (int) (slash ? slash - cfg->policy_db : 0),
                 cfg->policy_db);
    }
  return 0;
}

void
hook_config_set_db (struct pg_hook_config *cfg, const char *db)
{
  if (db)
    {
      free (cfg->policy_db);
      cfg->policy_db = xstrdup (db);
      free (cfg->policy_index);
      cfg->policy_index = NULL;
    }
  if (cfg->policy_index == NULL)
    cfg->policy_index = index_path_for_db (cfg->policy_db);
}

void
hook_config_free (struct pg_hook_config *cfg)
{
  free (cfg->engine);
  free (cfg->path);
  free (cfg->policy_db);
  free (cfg->policy_index);
  strv_free (cfg->annotation_keys, cfg->n_annotation_keys);
  strv_free (cfg->trusted_keys, cfg->n_trusted_keys);
  free (cfg->storage_conf);
  free (cfg->storage_graphroot);
  free (cfg->storage_runroot);
  free (cfg->storage_driver);
  free (cfg->docker_root);
  free (cfg->runtime_path);
  free (cfg->runtime_engine);
  free (cfg->metrics_textfile);
  free (cfg->metrics_counters);
  memset (cfg, 0, sizeof (*cfg));
}
