/*
 * hello: the smallest libfcgi program, answering every request with a fixed
 * JSON body.  bench/run measures it in the same pool behind the same nginx
 * as traffic-webhook: the ceiling for FastCGI on this machine.
 */
#include <fcgiapp.h>

int
main(void)
{
    static const char answer[] =
        "Status: 200 OK\r\nContent-Type: application/json\r\n"
        "Content-Length: 16\r\n\r\n{\"success\":true}";
    FCGX_Request req;

    FCGX_Init();
    FCGX_InitRequest(&req, 0, 0);
    while (FCGX_Accept_r(&req) >= 0) {
        FCGX_PutStr(answer, (int)sizeof(answer) - 1, req.out);
        FCGX_Finish_r(&req);
    }
    return 0;
}
