/*
 * amorate.c: a slot, and the wait for it.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "amorate.h"
#include "sql.h"
#include "store.h"

int
tr_amorate_take(struct tr_store *store, long rate, double max_wait, char *msg,
                size_t msgsz)
{
    char r[24], w[32];
    const char *p[2] = {r, w};
    struct timespec ts;
    PGresult *res;
    double wait;

    snprintf(r, sizeof(r), "%ld", rate);
    snprintf(w, sizeof(w), "%.3f", max_wait);
    if ((res = tr_store_query(store, tr_sql_amocrm_take, 2, p, msg, msgsz)) ==
        NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return 0;
    }
    wait = strtod(PQgetvalue(res, 0, 0), NULL);
    PQclear(res);
    if (wait > 0) {
        ts.tv_sec = (time_t)wait;
        ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
    }
    return 1;
}
