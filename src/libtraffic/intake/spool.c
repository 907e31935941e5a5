/*
 * spool.c: durable request files: writing, listing, reading, setting aside.
 *
 * An entry is a small header, a blank line and the body as received:
 *
 *     traffic-webhook spool 1
 *     received_at: 2026-11-25 10:00:00.123456+00
 *     content_type: application/x-www-form-urlencoded
 *     request_id: 4f0c...          ("-" when AmoCRM sent none)
 *     endpoint: traffic            (or unified: /webhook/amocrm)
 *     length: 1234
 *
 *     leads%5Bstatus%5D...
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "intake/spool.h"

#define MAGIC "traffic-webhook spool 1\n"
#define SUFFIX ".req"

static enum tr_err
io_fail(char *msg, size_t msgsz, const char *what, const char *path)
{
    return tr_fail(msg, msgsz, TR_EIO, "%s \"%s\" failed: %s", what, path,
                   strerror(errno));
}

static int
write_all(int fd, const char *p, size_t n)
{
    ssize_t w;

    while (n > 0) {
        if ((w = write(fd, p, n)) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A header value on one line: control characters become spaces. */
static void
one_line(char *dst, size_t dstsz, const char *s)
{
    size_t i;

    snprintf(dst, dstsz, "%s", s != NULL && s[0] != '\0' ? s : "-");
    for (i = 0; dst[i] != '\0'; i++)
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
            dst[i] = ' ';
}

enum tr_err
tr_spool_write(const char *dir, const struct tr_spool_entry *e, long long sec,
               long nsec, char *msg, size_t msgsz)
{
    char name[96], tmp[4096], path[4096], ct[256], rid[96],
        hdr[TR_SPOOL_HEADER_MAX];
    enum tr_err err = TR_OK;
    int fd = -1, dfd = -1, n;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return io_fail(msg, msgsz, "mkdir", dir);
    /* arrival order is name order; the pid keeps workers apart */
    snprintf(name, sizeof(name), "%020lld.%09ld-%ld" SUFFIX, sec, nsec,
             (long)getpid());
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    one_line(ct, sizeof(ct), e->content_type);
    one_line(rid, sizeof(rid), e->request_id);
    n = snprintf(hdr, sizeof(hdr),
                 MAGIC "received_at: %s\ncontent_type: %s\nrequest_id: %s\n"
                       "endpoint: %s\nlength: %zu\n\n",
                 e->received_at, ct, rid, e->endpoint, e->body_len);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        return io_fail(msg, msgsz, "create", tmp);
    if (write_all(fd, hdr, (size_t)n) != 0 ||
        write_all(fd, e->body, e->body_len) != 0) {
        err = io_fail(msg, msgsz, "write", tmp);
        goto out;
    }
    if (fsync(fd) != 0) {
        err = io_fail(msg, msgsz, "fsync", tmp);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        err = io_fail(msg, msgsz, "close", tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        err = io_fail(msg, msgsz, "rename", tmp);
        goto out;
    }
    /* the new name itself must survive a power loss */
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        fsync(dfd) != 0) {
        err = io_fail(msg, msgsz, "fsync directory", dir);
        unlink(path);
    }
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (err != TR_OK)
        unlink(tmp);
    return err;
}

enum tr_err
tr_spool_probe(const char *dir, char *msg, size_t msgsz)
{
    char path[4096];
    int fd;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return io_fail(msg, msgsz, "mkdir", dir);
    snprintf(path, sizeof(path), "%s/.probe-%ld", dir, (long)getpid());
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return io_fail(msg, msgsz, "create", path);
    if (write_all(fd, "probe\n", 6) != 0) {
        close(fd);
        unlink(path);
        return io_fail(msg, msgsz, "write", path);
    }
    close(fd);
    if (unlink(path) != 0)
        return io_fail(msg, msgsz, "remove", path);
    return TR_OK;
}

static int
is_entry(const char *name)
{
    size_t n = strlen(name), k = strlen(SUFFIX);

    return name[0] != '.' && n > k && strcmp(name + n - k, SUFFIX) == 0;
}

long
tr_spool_depth(const char *dir)
{
    struct tr_dir_list list;
    long n;

    n = tr_dir_list(&list, dir, is_entry, 1, NULL, 0) == TR_OK ? (long)list.n
                                                               : -1;
    tr_dir_list_release(&list);
    return n;
}

long
tr_spool_oldest_age(const char *dir)
{
    struct tr_dir_list list;
    long long sec = 0;
    long age = -1;
    char *end;

    if (tr_dir_list(&list, dir, is_entry, 1, NULL, 0) == TR_OK) {
        age = 0;
        /* named by arrival: the first is the oldest */
        if (list.n > 0) {
            sec = strtoll(list.names[0], &end, 10);
            if (end != list.names[0] && sec > 0 && time(NULL) > sec)
                age = (long)(time(NULL) - sec);
        }
    }
    tr_dir_list_release(&list);
    return age;
}

/* The value of "key: value\n" at *p, NUL-terminated in place. */
static char *
header(char **p, const char *key)
{
    size_t k = strlen(key);
    char *v, *nl;

    if (strncmp(*p, key, k) != 0 || (*p)[k] != ':' || (*p)[k + 1] != ' ')
        return NULL;
    v = *p + k + 2;
    if ((nl = strchr(v, '\n')) == NULL)
        return NULL;
    *nl = '\0';
    *p = nl + 1;
    return v;
}

/* Parses a spool file's text into e (pointing into data); -1 if corrupt. */
static int
parse_entry(char *data, size_t len, struct tr_spool_entry *e)
{
    char *p = data, *v, *end, *blank, *ep;
    size_t hlen;
    unsigned long long blen;

    memset(e, 0, sizeof(e[0]));
    if (len < sizeof(MAGIC) - 1 || memcmp(data, MAGIC, sizeof(MAGIC) - 1) != 0)
        return -1;
    /* the header ends at the first blank line, before any NUL */
    blank = memmem(data, len < TR_SPOOL_HEADER_MAX ? len : TR_SPOOL_HEADER_MAX,
                   "\n\n", 2);
    if (blank == NULL || memchr(data, '\0', (size_t)(blank - data)) != NULL)
        return -1;
    p += sizeof(MAGIC) - 1;
    if ((e->received_at = header(&p, "received_at")) == NULL ||
        (e->content_type = header(&p, "content_type")) == NULL ||
        (e->request_id = header(&p, "request_id")) == NULL ||
        (ep = header(&p, "endpoint")) == NULL ||
        (strcmp(ep, "traffic") != 0 && strcmp(ep, "unified") != 0) ||
        (v = header(&p, "length")) == NULL || *p != '\n')
        return -1;
    e->endpoint = ep;
    p++;
    hlen = (size_t)(p - data);
    errno = 0;
    blen = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || end == v || blen != len - hlen)
        return -1;
    if (strcmp(e->request_id, "-") == 0)
        e->request_id = NULL;
    e->body = p;
    e->body_len = (size_t)blen;
    return 0;
}

enum tr_err
tr_spool_list(const char *dir, struct tr_dir_list *list, char *msg,
              size_t msgsz)
{
    return tr_dir_list(list, dir, is_entry, 1, msg, msgsz);
}

enum tr_err
tr_spool_read(const char *dir, const char *name, struct tr_buf *b,
              struct tr_spool_entry *e, char *msg, size_t msgsz)
{
    char path[4096];
    enum tr_err err;
    struct stat sb;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return tr_fail(msg, msgsz, TR_EINVAL,
                       "not a regular file (a link, a FIFO, a device): not "
                       "an entry the service wrote");
    if (lstat(path, &sb) == 0 && sb.st_uid != geteuid())
        return tr_fail(msg, msgsz, TR_EINVAL,
                       "owned by uid %ld, not by the service (uid %ld): "
                       "written by another user (a replay as root?); chown "
                       "it to the service's user and move it back",
                       (long)sb.st_uid, (long)geteuid());
    if ((err = tr_buf_read_file(b, path, msg, msgsz)) != TR_OK)
        return err;
    if (b->data == NULL || parse_entry(b->data, b->len, e) != 0)
        return tr_fail(msg, msgsz, TR_EINVAL, "unreadable entry");
    return TR_OK;
}

/* The path of entry name's count of tries. */
static void
tries_path(char *path, size_t pathsz, const char *dir, const char *name)
{
    snprintf(path, pathsz, "%s/.%s.tries", dir, name);
}

void
tr_spool_remove(const char *dir, const char *name)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    tries_path(path, sizeof(path), dir, name);
    unlink(path);
}

int
tr_spool_tried(const char *dir, const char *name)
{
    char path[4096], text[24];
    struct tr_buf b;
    long n = 0;
    char *end;
    int fd;

    tries_path(path, sizeof(path), dir, name);
    tr_buf_init(&b, 32);
    if (tr_buf_read_file(&b, path, text, sizeof(text)) == TR_OK &&
        tr_buf_add(&b, "", 1) == TR_OK) {
        n = strtol(b.data, &end, 10);
        if (end == b.data || n < 0 || n > 1000000)
            n = 0;
    }
    tr_buf_release(&b);
    n++;
    /* a count lost to a crash only gives the entry more tries; a FIFO in
     * its place is neither waited on nor written */
    snprintf(text, sizeof(text), "%ld\n", n);
    if ((fd = open(path,
                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK |
                       O_NOFOLLOW,
                   0600)) >= 0) {
        (void)write_all(fd, text, strlen(text));
        close(fd);
    }
    return (int)n;
}

long
tr_spool_corrupt(const char *dir)
{
    char sub[4096];
    long n;

    snprintf(sub, sizeof(sub), "%s/" TR_SPOOL_CORRUPT_DIR, dir);
    n = tr_spool_depth(sub);
    return n > 0 ? n : 0;
}

/* NAME.why beside the entry set aside: why, for the operator. */
static void
write_why(const char *to, const char *why)
{
    char path[4400];
    FILE *f;

    snprintf(path, sizeof(path), "%s.why", to);
    if ((f = fopen(path, "we")) != NULL) {
        fprintf(f, "%s\n", why);
        fclose(f);
    }
}

void
tr_spool_set_aside(const char *dir, const char *name, const char *why,
                   char *msg, size_t msgsz)
{
    char sub[4096], from[4096], to[4352];

    snprintf(sub, sizeof(sub), "%s/" TR_SPOOL_CORRUPT_DIR, dir);
    snprintf(from, sizeof(from), "%s/%s", dir, name);
    snprintf(to, sizeof(to), "%s/%s", sub, name);
    if ((mkdir(sub, 0700) != 0 && errno != EEXIST) || rename(from, to) != 0) {
        /* never removed: it holds a request that was acknowledged */
        snprintf(msg, msgsz, "cannot move to %s (%s): left where it is", sub,
                 strerror(errno));
        return;
    }
    write_why(to, why);
    tries_path(from, sizeof(from), dir, name);
    unlink(from);
    snprintf(msg, msgsz, "moved to %s", sub);
}

void
tr_spool_note_failure(const char *dir, const char *why)
{
    char path[4096], tmp[4160];
    int fd;

    snprintf(path, sizeof(path), "%s/" TR_SPOOL_WHY_FILE, dir);
    if (why == NULL) {
        unlink(path);
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                   0600)) < 0)
        return;
    if (write_all(fd, why, strlen(why)) != 0 || close(fd) != 0 ||
        rename(tmp, path) != 0)
        unlink(tmp);
}

void
tr_spool_last_failure(const char *dir, char *buf, size_t bufsz)
{
    char path[4096], why[64];
    struct tr_buf b;

    snprintf(path, sizeof(path), "%s/" TR_SPOOL_WHY_FILE, dir);
    tr_buf_init(&b, 1024);
    buf[0] = '\0';
    if (tr_buf_read_file(&b, path, why, sizeof(why)) == TR_OK && b.len > 0)
        snprintf(buf, bufsz, "%.*s", (int)b.len, b.data);
    tr_buf_release(&b);
}
