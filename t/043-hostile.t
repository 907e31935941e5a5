# Hostile input, table-driven, through the real nginx and pool: each case
# gets its documented status and a JSON error, writes no sale (only its
# webhook_logs row where one makes sense), and leaves the workers serving.
# nginx's error log holds nothing above [error] afterwards.  A body refused
# unread (MAX_BODY_BYTES) resets no connection, through nginx or on TCP.
use strict;
use warnings;
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
start_pool(workers => 2);
my $port = start_nginx();
my @workers = worker_pids();
my $form = 'application/x-www-form-urlencoded';
my $p = 'leads%5Bstatus%5D%5B0%5D%5B';
sub lead { my ($id, $price) = @_;
    return "${p}id%5D=$id&${p}status_id%5D=142&${p}pipeline_id%5D=10418746"
        . (defined $price ? "&${p}price%5D=$price" : '') }

# Raw HTTP for what HTTP::Tiny will not send; returns (status, body).
sub raw {
    my ($request, $half_close) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
        Timeout => 5) or die "connect: $!";
    print $s $request;
    shutdown($s, 1) if $half_close;
    local $/;
    my $answer = '';
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 5;
        $answer = <$s> // '';
        alarm 0;
    };
    my ($st) = $answer =~ m{^HTTP/1\.\d (\d+)};
    my (undef, $body) = split /\r\n\r\n/, $answer, 2;
    return ($st // 0, $body // '');
}

my @cases = (
    # name, [method, content type, body] or raw request, status, logged
    ['wrong method', ['PUT', $form, lead(1)], 405, 0],
    ['wrong content type', ['POST', 'text/plain', lead(1)], 415, 1],
    ['no content type', ['POST', undef, lead(1)], 415, 1],
    ['missing Content-Length',
     "POST /webhook/amocrm/traffic HTTP/1.1\r\nHost: x\r\nContent-Type: $form\r\n"
     . "Connection: close\r\n\r\n", 411, 0],
    ['empty body', ['POST', $form, ''], 400, 1],
    ['body over the limit', ['POST', $form, 'a=' . ('x' x (1024 * 1024 + 10))],
     413, 0],
    ['10,000 pairs', ['POST', $form, join('&', map { "k$_=v" } 1 .. 10000)],
     200, 1],
    ['30,000 pairs', ['POST', $form, join('&', map { "k$_=v" } 1 .. 30000)],
     413, 1],
    ['1,000-level nesting', ['POST', $form, 'a' . ('%5Bx%5D' x 1000) . '=1'],
     413, 1],
    ['malformed escapes', ['POST', $form, "${p}id%5D=%zz%4&a=%"], 400, 1],
    ['invalid UTF-8', ['POST', $form, lead(1) . "&${p}name%5D=%C0%AF%FF"], 400, 1],
    ['a NUL byte', ['POST', $form, lead(1) . "&${p}name%5D=a%00b"], 400, 1],
    ['non-numeric id', ['POST', $form, lead('abc')], 200, 1],
    ['negative id', ['POST', $form, lead('-5')], 200, 1],
    ['overflowing id', ['POST', $form, lead('99999999999999999999')], 200, 1],
    ['a 10^30 price', ['POST', $form, lead(43000001, '1' . ('0' x 30))], 200, 1],
    ['5,000 leads', ['POST', $form, join('&', map {
        "leads%5Bstatus%5D%5B$_%5D%5Bid%5D=" . (43100000 + $_) } 0 .. 4999)],
     413, 1],
    ['JSON array', ['POST', 'application/json', '[1,2,3]'], 400, 1],
    ['JSON string', ['POST', 'application/json', '"leads"'], 400, 1],
    ['JSON leads of the wrong type', ['POST', 'application/json',
        '{"leads":{"status":5}}'], 200, 1],
    ['JSON broken', ['POST', 'application/json', '{"leads":'], 400, 1],
    ['binary garbage', ['POST', $form, join('', map { chr(($_ * 37) % 256) }
        0 .. 4095)], 400, 1],
);

for my $c (@cases) {
    my ($name, $req, $want, $logged) = @$c;
    my $logs = psql('SELECT count(*) FROM webhook_logs');
    my ($st, $body);
    if (ref $req) {
        my ($m, $ct, $b) = @$req;
        my $r = http($m, '/webhook/amocrm/traffic', $b,
            defined $ct ? ('Content-Type' => $ct) : ());
        ($st, $body) = ($r->{status}, $r->{content});
    } else {
        ($st, $body) = raw($req);
    }
    is($st, $want, "$name: $want") or diag(substr($body, 0, 300));
    my $j = eval { decode_json($body) };
    ok($j && ($st == 200 ? $j->{success} : !$j->{success}),
        "$name: a JSON answer") or diag(substr($body, 0, 300));
    my $added = psql('SELECT count(*) FROM webhook_logs') - $logs;
    if ($logged) {
        cmp_ok($added, '>=', 1, "$name: a webhook_logs row");
    } else {
        is($added, 0, "$name: nothing logged (stopped before the body)");
    }
    # (a won lead with a price that cannot be read is a sale, below)
    is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id <>'
        . ' 43000001'), 0, "$name: no sale");
    is(http('GET', '/webhook/amocrm/traffic/test')->{status}, 200,
        "$name: the next request is served");
}
is(psql("SELECT coalesce(sale_amount::text, 'NULL') || '|' || detail FROM"
    . " sales_notifications JOIN webhook_logs USING (lead_id) WHERE lead_id ="
    . " 43000001"), 'NULL|price out of range: the amount is unknown',
    'the 10^30 price: a sale with its amount unknown, the log row says why');

# A body shorter than its Content-Length, the client half-closing.
my ($st) = raw("POST /webhook/amocrm/traffic HTTP/1.1\r\nHost: x\r\n"
    . "Content-Type: $form\r\nContent-Length: 500\r\n\r\n" . lead(43000002), 1);
ok($st == 0 || $st == 400, "a lying Content-Length: no answer or 400 ($st)");
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 43000002'),
    0, 'no sale from it');

# Straight to the pool (nginx stops both before it reaches us): a length
# over WEBHOOK_MAX_BODY refused unread, a body shorter than its length 400.
my $c = cgi_fcgi(pool_sock(), 'POST', '/webhook/amocrm/traffic', 'a=1',
    CONTENT_LENGTH => 2 * 1024 * 1024);
is($c->{status}, 413, 'the pool: a Content-Length over the limit: 413');
like($c->{content}, qr/"error":"body too large"/, 'saying so');
$c = cgi_fcgi(pool_sock(), 'POST', '/webhook/amocrm/traffic', lead(43000004),
    CONTENT_LENGTH => 500);
is($c->{status}, 400, 'the pool: a body shorter than its length: 400');
like($c->{content}, qr/body shorter than content-length/, 'saying so');
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 43000004'),
    0, 'no sale from it');

# Chunked bodies are de-chunked by nginx and processed as usual.
($st) = raw("POST /webhook/amocrm/traffic HTTP/1.1\r\nHost: x\r\n"
    . "Content-Type: $form\r\nTransfer-Encoding: chunked\r\nConnection: close"
    . "\r\n\r\n" . sprintf('%x', length lead(43000003)) . "\r\n"
    . lead(43000003) . "\r\n0\r\n\r\n");
is($st, 200, 'a chunked sale: 200');
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 43000003'),
    1, 'and stored');

is_deeply([worker_pids()], \@workers, 'no worker died');
unlike(nginx_error_log(), qr/\[(alert|crit|emerg)\]/, 'nothing above [error] in nginx\'s log');
unlike(pool_log(), qr/AddressSanitizer|runtime error|Segmentation/,
    'no sanitizer report or crash in the pool log');

# MAX_BODY_BYTES below nginx's limit: the worker refuses the body unread,
# while nginx is still sending it, and nginx passes the 413 on.
stop_pool();
my $small = write_env(MAX_BODY_BYTES => 4096);
start_pool(workers => 1, env_file => $small);
my $r = http('POST', '/webhook/amocrm/traffic', 'a=' . ('x' x (600 * 1024)),
    'Content-Type' => $form);
is($r->{status}, 413, 'MAX_BODY_BYTES, a larger body through nginx: 413')
    or diag(substr($r->{content}, 0, 300));
like($r->{content}, qr/"error":"body too large"/, '  the service says so');
stop_pool();

# The same on a TCP socket (spawn-fcgi -a -p), from a FastCGI client that
# sends its whole request before it reads: the worker takes the rest of
# the unread body before it closes, so the client's sending fails nowhere
# (a close with data unread resets a TCP connection) and it reads the 413.
sub record {            # a FastCGI record: version 1, request 1
    my ($type, $content) = @_;
    return pack('CCnnCC', 1, $type, 1, length $content, 0, 0) . $content;
}
sub nv { my ($n, $v) = @_; pack('CC', length $n, length $v) . $n . $v }
my $tport = free_port();
my $tcp = TrafficTest::_spawn([which('spawn-fcgi'), '-n', '-a', '127.0.0.1',
    '-p', $tport, '--', builddir() . '/src/traffic-webhook'],
    tmpdir() . '/tcp.log', { TRAFFIC_ENV_FILE => $small });
wait_for('the TCP worker', sub {
    IO::Socket::INET->new(PeerAddr => "127.0.0.1:$tport") });
my $big = 'a=' . ('x' x (600 * 1024));
for my $i (1 .. 3) {
    local $SIG{PIPE} = 'IGNORE';
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$tport", Timeout => 5)
        or die "connect: $!";
    my $sent = print $s record(1, pack('nCx5', 1, 0))
        . record(4, nv('REQUEST_METHOD', 'POST')
            . nv('DOCUMENT_URI', '/webhook/amocrm/traffic')
            . nv('CONTENT_TYPE', $form) . nv('CONTENT_LENGTH', length $big))
        . record(4, '');
    for (my $o = 0; $sent && $o < length $big; $o += 32768) {
        $sent = print $s record(5, substr($big, $o, 32768));
    }
    $sent &&= print $s record(5, '');
    my $error = $sent ? '' : "$!";
    my ($answer, $n) = ('');
    while ($n = sysread($s, my $buf, 65536)) { $answer .= $buf }
    $error ||= "reading: $!" unless defined $n;
    is($error, '', "TCP, a body over MAX_BODY_BYTES ($i): all of it sent,"
        . ' no reset');
    like($answer, qr/Status: 413/, '  and the 413 read');
}
stop_pid($tcp);
done_testing();
