/* patchgate: `patchgate sync` — fetch a bundle and its signature with
 * libcurl, then activate it.  HTTPS with certificate verification (the
 * system CA store, or --ca), conditional requests from the state file,
 * connect and total timeouts, a size bound enforced while receiving, and a
 * bounded number of retries with exponential back-off and jitter for
 * transient failures (connection errors, timeouts, 408, 429, 5xx).  Proxy
 * environment variables are honoured as libcurl does by default.
 */
#include "bundle/sync.h"
#include "base/json.h"
#include "base/file.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

/* ---- the state file ---- */

void
sync_state_free (struct pg_sync_state *s)
{
  free (s->url);
  free (s->sig_sha256);
  free (s->result);
  memset (s, 0, sizeof (*s));
}

char *
sync_state_path (const char *policy_db)
{
  char *p = NULL;
  xasprintf (&p, "%s.sync.json", policy_db);
  return p;
}

static int64_t
sync_json_int_or_zero (json_t *doc, const char *key)
{
  json_t *v = json_object_get (doc, key);
  return json_is_integer (v) ? json_integer_value (v) : 0;
}

int
sync_state_load (const char *path, struct pg_sync_state *s, pg_error_t *err)
{
  cleanup_json json_t *doc = NULL;

  memset (s, 0, sizeof (*s));
  if (access (path, F_OK) < 0 && errno == ENOENT)
    return 0;
  if (pg_json_load_file (path, 64u << 10, &doc, err) < 0)
    return pg_error_wrap (err, "sync state");
  if (!json_is_object (doc))
    return pg_make_error (err, 0, "sync state %s: not a JSON object", path);
  s->url = xstrdup (pg_json_string (doc, "url"));
  s->sig_sha256 = xstrdup (pg_json_string (doc, "sig_sha256"));
  s->result = xstrdup (pg_json_string (doc, "result"));
  s->serial = sync_json_int_or_zero (doc, "serial");
  s->time = sync_json_int_or_zero (doc, "time");
  s->last_success = sync_json_int_or_zero (doc, "last_success");
  s->ok = json_is_true (json_object_get (doc, "ok"));
  return 0;
}

int
sync_state_save (const char *path, const struct pg_sync_state *s, pg_error_t *err)
{
  cleanup_json json_t *doc
      = json_pack ("{s:s?, s:s?, s:I, s:I, s:b, s:s?, s:I}", "url", s->url, "sig_sha256", s->sig_sha256,
                   "serial", (json_int_t) s->serial, "time", (json_int_t) s->time, "ok", s->ok, "result",
                   s->result, "last_success", (json_int_t) s->last_success);
  cleanup_free char *text = doc ? json_dumps (doc, JSON_INDENT (2) | JSON_SORT_KEYS) : NULL;
  cleanup_free char *line = NULL;

  if (text == NULL)
    return pg_make_error (err, 0, "sync state: out of memory");
  xasprintf (&line, "%s\n", text);
  if (pg_write_file_atomic (path, line, strlen (line), err) < 0)
    return pg_error_wrap (err, "sync state");
  return 0;
}

void
sync_result_free (struct pg_sync_result *r)
{
  activate_result_free (&r->act);
  memset (r, 0, sizeof (*r));
}

/* ---- URLs ---- */

static void
cleanup_curlup (CURLU **u)
{
  curl_url_cleanup (*u);
}
#define cleanup_curlu __attribute__ ((cleanup (cleanup_curlup)))

static void
cleanup_curl_strp (char **s)
{
  curl_free (*s);
}
#define cleanup_curl_str __attribute__ ((cleanup (cleanup_curl_strp)))

int
sync_check_url (const char *url, bool allow_http, char **sig_url, pg_error_t *err)
{
  cleanup_curlu CURLU *u = curl_url ();
  cleanup_curl_str char *scheme = NULL;
  cleanup_curl_str char *path = NULL;
  cleanup_curl_str char *full = NULL;
  cleanup_free char *sig_path = NULL;

  if (u == NULL)
    return pg_make_error (err, 0, "out of memory");
  if (curl_url_set (u, CURLUPART_URL, url, 0) != CURLUE_OK)
    return pg_make_error (err, 0, "`%s` is not a URL", url);
  if (curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
    return pg_make_error (err, 0, "`%s`: no scheme", url);
  if (strcasecmp (scheme, "https") != 0)
    {
      if (strcasecmp (scheme, "http") != 0)
        return pg_make_error (err, 0, "%s: only https:// URLs are supported", url);
      if (!allow_http)
        return pg_make_error (
            err, 0,
            "%s: refusing plain http:// (no transport security; the signature still protects "
            "the content, so pass --allow-http to accept it)",
            url);
    }
  if (curl_url_get (u, CURLUPART_PATH, &path, 0) != CURLUE_OK || path == NULL || path[0] == '\0'
      || path[strlen (path) - 1] == '/')
    return pg_make_error (err, 0, "%s: the URL must name the bundle file", url);
  xasprintf (&sig_path, "%s.sig", path);
  if (curl_url_set (u, CURLUPART_PATH, sig_path, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_URL, &full, 0) != CURLUE_OK)
    return pg_make_error (err, 0, "%s: cannot form the signature URL", url);
  *sig_url = xstrdup (full);
  return 0;
}

/* ---- one download ---- */

struct fetch_req
{
  const char *url;
  int fd;
  const char *name; /* the temp file, for messages */
  uint64_t max;
};

struct fetch_resp
{
  long code;
  uint64_t size;
  bool too_big;
  int write_errno;
};

static void
fetch_resp_clear (struct fetch_resp *r)
{
  memset (r, 0, sizeof (*r));
}

struct sink
{
  const struct fetch_req *req;
  struct fetch_resp *resp;
};

static size_t
sink_write (char *data, size_t size, size_t nmemb, void *userdata)
{
  struct sink *s = userdata;
  size_t n = size * nmemb;
  cleanup_error pg_error_t werr = NULL;

  if (s->resp->size + n > s->req->max)
    {
      s->resp->too_big = true;
      return 0;
    }
  if (pg_write_all (s->req->fd, data, n, s->req->name, &werr) < 0)
    {
      s->resp->write_errno = werr->status ? werr->status : EIO;
      return 0;
    }
  s->resp->size += n;
  return n;
}

static void
cleanup_curlp (CURL **h)
{
  curl_easy_cleanup (*h);
}
#define cleanup_curl __attribute__ ((cleanup (cleanup_curlp)))

static void
cleanup_slistp (struct curl_slist **l)
{
  curl_slist_free_all (*l);
}
#define cleanup_slist __attribute__ ((cleanup (cleanup_slistp)))

static void
set_options (CURL *h, const struct pg_sync_opts *o, const struct fetch_req *rq, struct sink *sink,
             char *errbuf, struct curl_slist **headers)
{
  const char *protocols = o->allow_http ? "http,https" : "https";

  curl_easy_setopt (h, CURLOPT_URL, rq->url);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (o->ca_file)
    curl_easy_setopt (h, CURLOPT_CAINFO, o->ca_file);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout);
  curl_easy_setopt (h, CURLOPT_TIMEOUT, o->timeout);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) rq->max);
  curl_easy_setopt (h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt (h, CURLOPT_USERAGENT, "patchgate-sync/1");
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, sink_write);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, sink);
  /* Never conditional, and no cache on the way may answer for the origin:
     the signature decides what changed (sync.h).  */
  *headers = curl_slist_append (*headers, "Cache-Control: no-cache");
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, *headers);
}

/* 0 done (200), 1 transient failure (retry), -1 permanent.  */
static int
fetch_once (const struct pg_sync_opts *o, const struct fetch_req *rq, struct fetch_resp *rs, pg_error_t *err)
{
  cleanup_curl CURL *h = curl_easy_init ();
  cleanup_slist struct curl_slist *headers = NULL;
  char errbuf[CURL_ERROR_SIZE] = "";
  struct sink sink = { rq, rs };
  CURLcode c;

  if (h == NULL)
    return pg_make_error (err, 0, "%s: cannot initialise libcurl", rq->url);
  set_options (h, o, rq, &sink, errbuf, &headers);
  c = curl_easy_perform (h);
  if (rs->too_big || c == CURLE_FILESIZE_EXCEEDED)
    return pg_make_error (err, 0, "%s: larger than the limit of %llu bytes (--max-size)", rq->url,
                          (unsigned long long) rq->max);
  if (rs->write_errno)
    return pg_make_error (err, rs->write_errno, "%s: writing %s", rq->url, rq->name);
  if (c != CURLE_OK)
    {
      pg_make_error (err, 0, "%s: %s", rq->url, errbuf[0] ? errbuf : curl_easy_strerror (c));
      switch (c)
        {
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
          return 1;
        default:
          return -1;
        }
    }
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &rs->code);
  if (rs->code == 200)
    return 0;
  pg_make_error (err, 0, "%s: HTTP %ld", rq->url, rs->code);
  return (rs->code == 408 || rs->code == 429 || rs->code >= 500) ? 1 : -1;
}

static unsigned
backoff_ms (const struct pg_sync_opts *o, int attempt)
{
  unsigned base = o->retry_base_ms ? o->retry_base_ms : 1000;
  unsigned delay = base;
  unsigned r = 0;

  for (int i = 1; i < attempt && delay < 30000; i++)
    delay *= 2;
  if (delay > 30000)
    delay = 30000;
  if (getrandom (&r, sizeof (r), GRND_NONBLOCK) != sizeof (r))
    r = (unsigned) time (NULL) ^ (unsigned) getpid ();
  /* Jitter: between the delay and twice it, so that hosts whose timers
     fired together do not retry together.  */
  return delay + r % (delay + 1);
}

static void
sleep_ms (unsigned ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static int
reset_file (const struct fetch_req *rq, pg_error_t *err)
{
  if (ftruncate (rq->fd, 0) < 0 || lseek (rq->fd, 0, SEEK_SET) < 0)
    return pg_make_error (err, errno, "%s: truncate", rq->name);
  return 0;
}

static int
fetch (const struct pg_sync_opts *o, const struct fetch_req *rq, struct fetch_resp *rs, int *attempts,
       pg_error_t *err)
{
  int retries = o->retries < 0 ? 0 : (o->retries > PG_SYNC_MAX_RETRIES ? PG_SYNC_MAX_RETRIES : o->retries);

  for (int attempt = 1;; attempt++)
    {
      int r;
      fetch_resp_clear (rs);
      if (reset_file (rq, err) < 0)
        return -1;
      (*attempts)++;
      r = fetch_once (o, rq, rs, err);
      if (r <= 0)
        return r;
      if (attempt > retries)
        return pg_error_wrap (err, "giving up after %d attempt%s", attempt, attempt == 1 ? "" : "s");
      {
        unsigned ms = backoff_ms (o, attempt);
        cleanup_free char *msg = NULL;
        xasprintf (&msg, "attempt %d failed (%s); retrying in %u.%01u s", attempt, (*err)->msg, ms / 1000,
                   (ms % 1000) / 100);
        if (o->notice)
          o->notice (msg);
        pg_error_release (err);
        sleep_ms (ms);
      }
    }
}

/* ---- the whole sync ---- */

struct sync_files
{
  char *bundle;
  char *sig;
  int bundle_fd;
  int sig_fd;
};

static void
sync_files_release (struct sync_files *f)
{
  if (f->bundle_fd >= 0)
    close (f->bundle_fd);
  if (f->sig_fd >= 0)
    close (f->sig_fd);
  pg_unlink_freep (&f->bundle);
  pg_unlink_freep (&f->sig);
}

/* Whether SIG (hex SHA-256 of the signature at URL.sig) is that of the
   bundle the active database came from, or of the last bundle a sync
   verified at this URL with the active serial (already active: a
   re-signed copy).  */
static bool
signature_is_current (const struct pg_sync_opts *o, const struct pg_sync_state *prev, const char *active_sig,
                      int64_t active_serial, const char *sig)
{
  if (active_serial <= 0)
    return false;
  if (active_sig && strcmp (active_sig, sig) == 0)
    return true;
  return prev->url && strcmp (prev->url, o->url) == 0 && prev->serial == active_serial && prev->sig_sha256
         && strcmp (prev->sig_sha256, sig) == 0;
}

static int
download (const struct pg_sync_opts *o, const struct pg_sync_state *prev, const char *active_sig,
          struct sync_files *f, char sig_sha256[65], struct pg_sync_result *r, pg_error_t *err)
{
  cleanup_free char *sig_url = NULL;
  struct fetch_resp resp = { 0 };
  struct fetch_req rq;
  unsigned char sig[PG_ED25519_SIG_SIZE];

  if (sync_check_url (o->url, o->allow_http, &sig_url, err) < 0)
    return -1;
  if (pg_ensure_parent_dir (o->activate.policy_db, err) < 0
      || pg_mkstemp_beside (o->activate.policy_db, &f->bundle, &f->bundle_fd, err) < 0
      || pg_mkstemp_beside (o->activate.policy_db, &f->sig, &f->sig_fd, err) < 0)
    return -1;
  /* The signature first, always: it is small, and unlike the server's
     validators it changes with every bundle.  */
  rq = (struct fetch_req){ .url = sig_url, .fd = f->sig_fd, .name = f->sig, .max = PG_MAX_SIG_DOWNLOAD };
  if (fetch (o, &rq, &resp, &r->attempts, err) < 0)
    return pg_error_wrap (err, "signature");
  r->http_code = resp.code;
  if (bundle_read_signature (f->sig, sig, err) < 0)
    return pg_error_wrap (err, "signature %s", sig_url);
  bundle_sig_sha256 (sig, sig_sha256);
  if (signature_is_current (o, prev, active_sig, r->active_serial, sig_sha256))
    {
      r->not_modified = true;
      return 0;
    }
  rq = (struct fetch_req){ .url = o->url,
                           .fd = f->bundle_fd,
                           .name = f->bundle,
                           .max = o->max_size ? o->max_size : PG_MAX_BUNDLE_SIZE };
  if (fetch (o, &rq, &resp, &r->attempts, err) < 0)
    return -1;
  r->http_code = resp.code;
  if (fsync (f->bundle_fd) < 0)
    return pg_make_error (err, errno, "%s: fsync", f->bundle);
  return 0;
}

static void
record (const char *path, struct pg_sync_state *s, void (*notice) (const char *msg))
{
  cleanup_error pg_error_t err = NULL;
  if (sync_state_save (path, s, &err) < 0 && notice)
    notice (err->msg);
}

int
sync_run (const struct pg_sync_opts *o, struct pg_sync_result *r, pg_error_t *err)
{
  cleanup_free char *state_path = sync_state_path (o->activate.policy_db);
  cleanup_free char *active_sig = NULL;
  struct sync_files f = { NULL, NULL, -1, -1 };
  struct pg_sync_state s;
  cleanup_error pg_error_t serr = NULL;
  char sig_sha256[65] = "";
  int ret = -1;

  memset (r, 0, sizeof (*r));
  if (sync_state_load (state_path, &s, &serr) < 0)
    {
      if (o->notice)
        o->notice (serr->msg);
      memset (&s, 0, sizeof (s));
    }
  if (policy_active_bundle (o->activate.policy_db, o->activate.policy_index, &r->active_serial, &active_sig,
                            err)
      < 0)
    goto fail;
  if (download (o, &s, active_sig, &f, sig_sha256, r, err) < 0)
    goto fail;
  free (s.result);
  if (r->not_modified)
    xasprintf (&s.result, "not modified (the signature is the active bundle's): serial %lld stays active",
               (long long) r->active_serial);
  else
    {
      if (bundle_activate (&o->activate, f.bundle, f.sig, &r->act, err) < 0)
        {
          s.result = NULL;
          goto fail;
        }
      free (s.url);
      free (s.sig_sha256);
      s.url = xstrdup (o->url);
      s.sig_sha256 = xstrdup (r->act.sig_sha256);
      s.serial = r->act.manifest.serial;
      if (r->act.activated)
        xasprintf (&s.result, "activated serial %lld (was %lld)", (long long) r->act.manifest.serial,
                   (long long) r->act.previous_serial);
      else
        xasprintf (&s.result, "serial %lld is already active", (long long) r->act.manifest.serial);
    }
  s.time = o->activate.now;
  s.ok = true;
  s.last_success = o->activate.now;
  record (state_path, &s, o->notice);
  ret = 0;
  goto out;
fail:
  if (s.url == NULL || strcmp (s.url, o->url) != 0)
    {
      /* The remembered signature belongs to another URL: forget it.  */
      free (s.url);
      free (s.sig_sha256);
      s.url = xstrdup (o->url);
      s.sig_sha256 = NULL;
      s.serial = 0;
    }
  free (s.result);
  xasprintf (&s.result, "error: %s", (*err)->msg);
  s.time = o->activate.now;
  s.ok = false;
  record (state_path, &s, o->notice);
out:
  sync_files_release (&f);
  sync_state_free (&s);
  return ret;
}
