/*
 * test-metrics.c: the shared counters file (metrics.c): made where it is
 * missing, summed exactly over processes adding at once, amounts in
 * hundredths, a file of another layout replaced, nothing counted before it
 * is open; and the text helpers the admin pages use (base64, ages).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libtraffic/base/metrics.h"
#include "libtraffic/base/rules.h"
#include "libtraffic/base/text.h"
#include "tap.h"

#define CHILDREN 4
#define ADDS 20000

static char dir[] = "/tmp/test-metrics-XXXXXX";

static int
slot_of(const struct tr_metrics_snapshot *s, const char *name)
{
    int i;

    for (i = 0; i < TR_METRICS_NAMES; i++)
        if (strcmp(s->names[i], name) == 0)
            return i;
    return -1;
}

/* The counters opened for rules' targetologists, as the programs do. */
static enum tr_err
open_for(const char *path, const struct tr_rules *rules, char *msg,
         size_t msgsz)
{
    static const char *names[TR_METRICS_RULES_MAX];

    return tr_metrics_open(path, names,
                           tr_rules_names(rules, names, TR_METRICS_RULES_MAX),
                           msg, msgsz);
}

static void
test_processes(const struct tr_rules *rules, const char *path)
{
    struct tr_metrics_snapshot s;
    char msg[256];
    int i, k, status, all = 1, kid;
    pid_t pid;

    for (i = 0; i < CHILDREN; i++) {
        if ((pid = fork()) == 0) {
            /* each process opens the file itself, as a worker does */
            if (open_for(path, rules, msg, sizeof(msg)) != TR_OK)
                _exit(2);
            for (k = 0; k < ADDS; k++) {
                tr_metrics_request(TR_M_EP_TRAFFIC, 200, 0.003);
                tr_metrics_lead(0, 0);
            }
            tr_metrics_sale(tr_rules_index(rules, &rules->v[0]), "1000.50");
            tr_metrics_close();
            _exit(0);
        }
    }
    while ((kid = wait(&status)) > 0)
        all &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    ok(all, "%d processes opened the file and counted", CHILDREN);
    ok(open_for(path, rules, msg, sizeof(msg)) == TR_OK,
       "the parent opens it too");
    ok(tr_metrics_read(&s) == 0, "and reads it");
    ok(s.requests[TR_M_EP_TRAFFIC][1] == (uint64_t)CHILDREN * ADDS,
       "requests summed exactly: %llu",
       (unsigned long long)s.requests[TR_M_EP_TRAFFIC][1]);
    ok(s.leads[0][0] == (uint64_t)CHILDREN * ADDS, "leads likewise");
    ok(s.duration_count == (uint64_t)CHILDREN * ADDS &&
           s.duration[2] == (uint64_t)CHILDREN * ADDS,
       "every 3 ms request in the 5 ms bucket");
    k = slot_of(&s, rules->v[0].name);
    ok(k >= 0 && s.sales[k] == CHILDREN, "%d sales of %s", CHILDREN,
       rules->v[0].name);
    ok(k >= 0 && s.amount_cents[k] == CHILDREN * 100050ull,
       "their amount in hundredths: %llu",
       k >= 0 ? (unsigned long long)s.amount_cents[k] : 0ull);
    ok(slot_of(&s, rules->fallback.name) >= 0, "the fallback has its name");
    tr_metrics_close();
}

static void
test_amounts(const struct tr_rules *rules, const char *path)
{
    static const struct {
        const char *amount;
        unsigned long long cents;
    } cases[] = {{"100000", 10000000}, {"99.5", 9950}, {"12.05", 1205},
                 {"12.349", 1234},     {"", 0},        {"7", 700}};
    struct tr_metrics_snapshot s, t;
    char msg[256];
    size_t i;
    int k;

    open_for(path, rules, msg, sizeof(msg));
    tr_metrics_read(&s);
    k = slot_of(&s, rules->v[1].name);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tr_metrics_read(&s);
        tr_metrics_sale(tr_rules_index(rules, &rules->v[1]), cases[i].amount);
        tr_metrics_read(&t);
        ok(k >= 0 && t.amount_cents[k] - s.amount_cents[k] == cases[i].cents &&
               t.sales[k] - s.sales[k] == 1,
           "amount \"%s\": %llu hundredths", cases[i].amount, cases[i].cents);
    }
    tr_metrics_close();
}

static void
test_layout(const struct tr_rules *rules, const char *path)
{
    struct tr_metrics_snapshot s;
    char msg[256];
    struct stat sb;
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ok(fd >= 0 && write(fd, "an older layout", 15) == 15, "a file of another "
                                                          "layout");
    close(fd);
    ok(open_for(path, rules, msg, sizeof(msg)) == TR_OK,
       "is replaced, not reused");
    ok(stat(path, &sb) == 0 && sb.st_size > 15, "by a new one");
    ok(tr_metrics_read(&s) == 0 && s.requests[TR_M_EP_TRAFFIC][1] == 0,
       "whose counters start at zero");
    tr_metrics_close();
    ok(tr_metrics_read(&s) == -1, "closed: nothing to read");
    tr_metrics_request(TR_M_EP_TRAFFIC, 200, 0.001); /* counts nothing */
    ok(open_for("/dev/null/metrics", rules, msg, sizeof(msg)) == TR_EIO &&
           strstr(msg, "/dev/null/metrics") != NULL,
       "a path that cannot be made: TR_EIO naming it (%s)", msg);
}

static void
test_text(void)
{
    char out[32];

    ok(tr_text_base64_decode("dGVhbTpzZWNyZXQ=", out, sizeof(out)) == 11 &&
           strcmp(out, "team:secret") == 0,
       "base64: team:secret");
    ok(tr_text_base64_decode("OnRva2Vu", out, sizeof(out)) == 6 &&
           strcmp(out, ":token") == 0,
       "base64 without padding: :token");
    ok(tr_text_base64_decode("dGVhbTpzZWNyZXQ", out, sizeof(out)) == 11 &&
           strcmp(out, "team:secret") == 0,
       "base64 with its padding left out: still team:secret");
    ok(tr_text_base64_decode("dGVhb", out, sizeof(out)) == -1,
       "base64: a lone sextet at the end is refused");
    ok(tr_text_base64_decode("dG*hbQ==", out, sizeof(out)) == -1,
       "base64: a character outside the alphabet is refused");
    ok(tr_text_base64_decode("dGVhbTpzZWNyZXQ=", out, 8) == -1,
       "base64: what does not fit is refused");
    ok(tr_text_parse_age("72h") == 72 * 3600, "age 72h");
    ok(tr_text_parse_age("30d") == 30 * 86400, "age 30d");
    ok(tr_text_parse_age("90m") == 90 * 60, "age 90m");
    ok(tr_text_parse_age("3600") == 3600, "age 3600");
    ok(tr_text_parse_age("3h30") == -1 && tr_text_parse_age("") == -1 &&
           tr_text_parse_age("-5h") == -1,
       "malformed ages refused");
}

int
main(void)
{
    struct tr_rules rules;
    char msg[256], path[512];

    if (mkdtemp(dir) == NULL ||
        tr_rules_init_default(&rules, msg, sizeof(msg)) != TR_OK) {
        printf("Bail out! setup\n");
        return 1;
    }
    /* in a directory not made yet, as SPOOL_DIR/.metrics before a spool */
    snprintf(path, sizeof(path), "%s/spool/.metrics", dir);
    test_processes(&rules, path);
    test_amounts(&rules, path);
    test_layout(&rules, path);
    test_text();
    tr_rules_release(&rules);
    unlink(path);
    snprintf(path, sizeof(path), "%s/spool", dir);
    rmdir(path);
    rmdir(dir);
    return done_testing();
}
