# The shipped nginx files: the secret as the webhook URL's last path
# segment (checked by the service, never in nginx's access or error log,
# not after a 413 nor a 502 either), JSON answers for 502 and 504, and the
# example site passing "nginx -t" with the http {} part beside it.
use strict;
use warnings;
use IO::Socket::UNIX;
use JSON::PP;
use Socket qw(SOCK_STREAM SOMAXCONN);
use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use TrafficTest;

my $secret = 'pathsec-0123456789abcdefXYZ';
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $env = write_env(WEBHOOK_SECRET => $secret);
start_pool(workers => 2, env_file => $env);
my $port = start_nginx(edit => sub {
    # 504 sooner than the snippet's 10 s
    $_[0] =~ s/fastcgi_read_timeout 10s;/fastcgi_read_timeout 1s;/gr });
my $dir = tmpdir();
my $sale = example('01-status-142-full.txt');
sub post {
    my ($path, $body) = @_;
    return http('POST', $path, $body,
        'Content-Type' => 'application/x-www-form-urlencoded');
}
sub logs { join '', map { -f $_ ? slurp($_) : '' } glob("$dir/nginx-*.log") }

my $r = post("/webhook/amocrm/traffic/$secret", $sale);
is($r->{status}, 200, 'the secret as the last path segment: 200');
is(psql("SELECT count(*) FROM all_sales_tracking WHERE lead_id = 25123456"),
    1, 'the sale stored');
$r = post('/webhook/amocrm/traffic/wrong-0123456789abcdefXYZ', $sale);
is($r->{status}, 403, 'another segment: 403');
$r = post('/webhook/amocrm/traffic', $sale);
is($r->{status}, 403, 'none: 403');
is(psql("SELECT count(*) FROM webhook_logs WHERE error_message ="
    . " 'missing or wrong webhook token'"), 2, 'both logged as refused');
$r = post("/webhook/amocrm/traffic/$secret", 'x' x (2 * 1024 * 1024));
is($r->{status}, 413, 'too large a body: 413');
like($r->{content}, qr/"body too large"/, 'in JSON');

# The pool away: JSON 502 (the secret still out of every log).
stop_pool();
$r = post("/webhook/amocrm/traffic/$secret", $sale);
is($r->{status}, 502, 'the pool away: 502');
is(eval { decode_json($r->{content}) }->{error}, 'the service is not running',
    'in JSON');
$r = post("/webhook/amocrm/traffic?token=$secret", $sale);
is($r->{status}, 502, 'the ?token= form too');
like(logs(), qr/connect\(\) to unix:.* failed/,
    'the error log says why (for the ?token= location)');

# A pool that takes the connection and never answers: JSON 504.
my $sock = pool_sock() // "$dir/traffic-webhook.sock";
unlink $sock;
my $mute = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $sock,
    Listen => SOMAXCONN) or die "listen $sock: $!";
$r = post("/webhook/amocrm/traffic/$secret", $sale);
is($r->{status}, 504, 'a pool that does not answer: 504');
is(eval { decode_json($r->{content}) }->{error},
    'the service did not answer in time', 'in JSON');
close $mute;

my @lines = grep { /\Q$secret\E/ } split /\n/, logs();
is(scalar(grep { !/\?token=\Q$secret\E/ } @lines), 0, 'the path-segment'
    . ' secret is in no nginx log, after a 200, 403, 413, 502 and 504')
    or diag(join "\n", @lines);
is(scalar @lines, 1, 'the ?token= form is, once: the 502\'s error line'
    . ' (why the path form is the one to use)');
like(slurp("$dir/nginx-access.log"), qr/ [0-9a-f]{32} "/,
    'the access log has $request_id');

# The example site passes nginx -t, with the http {} part beside it.
SKIP: {
    my $t = "$dir/nginx-t";
    mkdir $t;
    # a certificate of our own where the site names Debian's snakeoil one
    my ($orc) = run_cmd(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
        '-nodes', '-subj', '/CN=api.example.com', '-days', '1', '-keyout',
        "$t/key.pem", '-out', "$t/cert.pem"]);
    skip 'no openssl to make a certificate', 1 if $orc;
    mkdir "$t/snippets";
    my $snippet = slurp(srcdir() . '/nginx/traffic-webhook.conf');
    $snippet =~ s{/var/log/nginx/}{$t/}g;
    spew("$t/snippets/traffic-webhook.conf", $snippet);
    spew("$t/fastcgi_params", slurp('/etc/nginx/fastcgi_params'));
    my $site = slurp(srcdir() . '/nginx/example-site.conf');
    $site =~ s{/etc/nginx/snippets/}{$t/snippets/}g;
    $site =~ s{/var/log/nginx/}{$t/}g;
    $site =~ s{/etc/ssl/certs/ssl-cert-snakeoil\.pem}{$t/cert.pem};
    $site =~ s{/etc/ssl/private/ssl-cert-snakeoil\.key}{$t/key.pem};
    spew("$t/site.conf", $site);
    spew("$t/nginx.conf", "pid $t/nginx.pid;\nerror_log $t/error.log;\n"
        . "events {}\nhttp {\n    include /etc/nginx/mime.types;\n"
        . "    include " . srcdir() . "/nginx/traffic-webhook-http.conf;\n"
        . "    include $t/site.conf;\n}\n");
    my ($nrc, $nout) = run_cmd(['nginx', '-t', '-p', $t, '-c',
        "$t/nginx.conf"]);
    is($nrc, 0, 'the example site passes nginx -t') or diag($nout);
}
done_testing();
