# TrafficTest: what the t/*.t files share.
#
# Each test file gets its own temporary directory, free loopback ports, and
# starts the real servers it needs there: a throwaway PostgreSQL cluster (as
# an unprivileged user when run as root, since initdb refuses root), the
# spawn-fcgi pool of traffic-webhook workers, and nginx configured from the
# shipped nginx/traffic-webhook.conf with only the socket path substituted.
# Everything started is stopped by pid at the end; the directory is kept when
# a test failed (or TRAFFIC_KEEP=1) and its path is printed.
package TrafficTest;

use strict;
use warnings;
use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP ();
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

our @EXPORT = qw(changelog_version start_pgbouncer srcdir shared builddir tmpdir free_port slurp spew run_cmd
    start_pg start_pg_again psql pg_url pg_log stop_pg migrate ctl empty_env write_env start_pool stop_pool
    start_nginx http cgi_fcgi cgi_run example corpus_bodies wait_for
    nginx_error_log pool_log stop_pid worker_pids pool_pid pool_sock unit
    start_fake_api fake_queue fake_default fake_requests fake_reset
    sent_messages start_deliver stop_deliver deliver_log which post_sale
    in_parallel lead_form post_form fake_amocrm api_lead telegram_calls
    stop_pool_sidecar fake_release fake_held fake_control);

my $SRC = abs_path(dirname(__FILE__) . '/../..');
# the tests' programs run as whoever runs the tests, never as the
# package's user (which t/090 may create meanwhile): no privilege drop,
# and check probes the spool as this user
$ENV{TRAFFIC_SERVICE_USER} = scalar getpwuid($>);
# a statement and its reader that disagree on a column's name abort the
# program (db/rows.h), so the test that reaches the reader fails
$ENV{TRAFFIC_STRICT_COLUMNS} = 1;
my $BUILD = abs_path($ENV{TRAFFIC_BUILDDIR} || $SRC);
my ($DIR, %PG, @PIDS, %NGINX, %POOL, $POOL_LOG);
my $OWNER = $$;    # the test's process (END: not its forked children)

sub srcdir   { $SRC }
# the version, from the one place it lives: debian/changelog's newest entry
sub changelog_version {
    return slurp("$SRC/debian/changelog") =~ /^\S+ \(([^)]+)\)/ ? $1 : '?';
}
sub shared   { $ENV{TRAFFIC_SHARED} || abs_path("$SRC/../shared") }
sub builddir { $BUILD }

sub tmpdir {
    return $DIR if $DIR;
    my $base = $ENV{TRAFFIC_TMPDIR} || '/tmp';
    $DIR = tempdir('traffic-test-XXXXXX', DIR => $base, CLEANUP => 0);
    chmod 0755, $DIR;
    return $DIR;
}

# A port for a listener a test starts later (nginx, pgbouncer).  Taken
# below the kernel's ephemeral range: port 0 would hand out one of those,
# and between its close and nginx's bind any outgoing connection of the
# tests running alongside may take it (nginx then fails "Address already in
# use").  Random, and checked free; 100 tries.
sub free_port {
    my $lo = 32768;
    if (open my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range') {
        ($lo) = split ' ', scalar <$fh>;
    }
    $lo = 32768 if $lo < 11000;
    for (1 .. 100) {
        my $port = 10000 + int rand($lo - 10000);
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
            LocalPort => $port, Proto => 'tcp', ReuseAddr => 1) or next;
        close $s;
        return $port;
    }
    die "no free port below $lo";
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "open $path: $!";
    local $/;
    my $s = <$fh>;
    return $s;
}

sub spew {
    my ($path, $data, $mode) = @_;
    open my $fh, '>:raw', $path or die "write $path: $!";
    print $fh $data;
    close $fh;
    chmod $mode, $path if defined $mode;
}

# Runs a command, returns (exit code, stdout+stderr).  %opt: env, stdin,
# errfile (stderr appended there instead).
sub run_cmd {
    my ($cmd, %opt) = @_;
    my $dir = tmpdir();
    my $in = "$dir/.stdin.$$";
    spew($in, defined $opt{stdin} ? $opt{stdin} : '');
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', $in or die;
        if ($opt{errfile}) {
            open STDERR, '>>', $opt{errfile} or die;
        } else {
            open STDERR, '>&', \*STDOUT or die;
        }
        %ENV = (%ENV, %{ $opt{env} || {} });
        delete $ENV{$_} for grep { !defined $ENV{$_} } keys %ENV;
        exec @$cmd or die "exec @$cmd: $!";
    }
    local $/;
    my $text = <$out> // '';
    close $out;
    unlink $in;
    return ($? >> 8, $text);
}

sub wait_for {
    my ($what, $cond, $timeout) = @_;
    my $until = time + ($timeout || 10);
    while (time < $until) {
        return 1 if $cond->();
        sleep 0.05;
    }
    die "timed out waiting for $what\n";
}

# Runs a C unit test (TAP on stdout) in place of this script; under valgrind
# when TRAFFIC_VALGRIND=1 (a leak or memory error fails the file).
sub unit {
    my ($name) = @_;
    $ENV{TRAFFIC_SHARED} ||= shared();
    $ENV{TRAFFIC_SRCDIR} ||= $SRC;
    my @cmd = ("$BUILD/t/unit/$name");
    die "$cmd[0] is not built: run make check\n" unless -x $cmd[0];
    unshift @cmd, 'valgrind', '-q', '--leak-check=full',
        '--show-leak-kinds=definite,indirect',
        '--errors-for-leak-kinds=definite,indirect', '--error-exitcode=99'
        if $ENV{TRAFFIC_VALGRIND};
    exec @cmd or die "exec $cmd[0]: $!";
}

# ---- PostgreSQL -----------------------------------------------------------

sub _as_pg_user {
    return () if $> != 0;
    return ('runuser', '-u', 'nobody', '--');
}

# Starts the throwaway cluster.  Commits are asynchronous (fast) unless
# durable => 1: a test that kills PostgreSQL needs a commit to be a commit.
# settings => [lines] go into postgresql.conf.
sub start_pg {
    my (%opt) = @_;
    my $dir = tmpdir();
    my $data = "$dir/pg";
    my $port = free_port();
    my $bin = $ENV{PG_BINDIR} || (sort glob('/usr/lib/postgresql/*/bin'))[-1];
    mkdir $data or die "mkdir $data: $!";
    chown((getpwnam('nobody'))[2], (getgrnam('nogroup'))[2], $data) if $> == 0;
    my @as = _as_pg_user();
    my ($rc, $out) = run_cmd([@as, "$bin/initdb", '-D', "$data/data", '-U',
        'traffic', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
    die "initdb failed: $out" if $rc;
    open my $fh, '>>', "$data/data/postgresql.conf" or die;
    print $fh "listen_addresses = ''\nunix_socket_directories = '$data'\n",
        "port = $port\nmax_connections = 60\nfsync = off\n",
        "synchronous_commit = ", ($opt{durable} ? 'on' : 'off'),
        "\nfull_page_writes = off\n", map { "$_\n" } @{ $opt{settings} || [] };
    close $fh;
    ($rc, $out) = run_cmd([@as, "$bin/pg_ctl", '-D', "$data/data", '-l',
        "$data/log", '-w', '-t', '30', 'start']);
    die "pg_ctl start failed: $out\n" . (-f "$data/log" ? slurp("$data/log") : '')
        if $rc;
    %PG = (bin => $bin, data => "$data/data", sock => $data, port => $port,
        as => \@as, log => "$data/log");
    my ($r2, $o2) = run_cmd(["$bin/psql", '-X', '-q', '-h', $data, '-p', $port,
        '-U', 'traffic', '-d', 'postgres', '-c', 'CREATE DATABASE traffic']);
    die "createdb: $o2" if $r2;
    return pg_url();
}

# (a test without a cluster gets a socket directory that does not exist)
sub pg_url {
    return 'postgresql:///traffic?host=/nonexistent&user=traffic'
        unless $PG{sock};
    return "postgresql:///traffic?host=$PG{sock}&port=$PG{port}&user=traffic";
}

# The cluster's server log so far.
sub pg_log { return $PG{log} && -f $PG{log} ? slurp($PG{log}) : '' }

# Runs SQL, returns the unaligned tuples-only output, dies on error.
sub psql {
    my ($sql) = @_;
    my ($rc, $out) = run_cmd(["$PG{bin}/psql", '-X', '-q', '-A', '-t', '-F',
        '|', '-v', 'ON_ERROR_STOP=1', '-h', $PG{sock}, '-p', $PG{port}, '-U',
        'traffic', '-d', 'traffic', '-c', $sql]);
    die "psql failed: $out\n" if $rc;
    chomp $out;
    return $out;
}

# pg_ctl stop; mode 'fast' or 'immediate'.  restart with start_pg_again.
sub stop_pg {
    my ($mode) = @_;
    return unless %PG;
    run_cmd([@{ $PG{as} }, "$PG{bin}/pg_ctl", '-D', $PG{data}, '-m',
        $mode || 'fast', '-w', 'stop']);
}

sub start_pg_again {
    my ($rc, $out) = run_cmd([@{ $PG{as} }, "$PG{bin}/pg_ctl", '-D', $PG{data},
        '-l', $PG{log}, '-w', '-t', '30', 'start']);
    die "pg_ctl start: $out" if $rc;
}

# PgBouncer (Debian's) in transaction mode between the test's clusters and
# its clients, as an unprivileged user: four server connections handed
# round robin, so a client's transactions change server connections.
# %opt: extra => lines for [pgbouncer].  Returns the URL through it.
sub start_pgbouncer {
    my (%opt) = @_;
    # a dependency of the suite: missing, it is a failure, not a skip
    my $bouncer = eval { which('pgbouncer') };
    BAIL_OUT('pgbouncer is not installed: scripts/deps test installs it')
        unless $bouncer && -x $bouncer;
    my $dir = tmpdir() . '/bouncer';
    mkdir $dir or die "mkdir $dir: $!";
    my ($sock) = pg_url() =~ /host=([^&]+)/;
    my ($pgport) = pg_url() =~ /port=(\d+)/;
    my $port = free_port();
    spew("$dir/pgbouncer.ini", <<"INI");
[databases]
traffic = host=$sock port=$pgport dbname=traffic user=traffic
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 4
min_pool_size = 3
server_round_robin = 1
max_client_conn = 100
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
@{[ $opt{extra} // '' ]}
INI
    if ($> == 0) {
        my ($uid, $gid) = ((getpwnam('nobody'))[2], (getgrnam('nogroup'))[2]);
        chown $uid, $gid, $dir, "$dir/pgbouncer.ini";
    }
    my @as = $> == 0 ? ('runuser', '-u', 'nobody', '--') : ();
    _spawn([@as, $bouncer, "$dir/pgbouncer.ini"], "$dir/stderr.log");
    wait_for('pgbouncer', sub { IO::Socket::INET->new(PeerAddr =>
        '127.0.0.1', PeerPort => $port) });
    return "postgresql://traffic\@127.0.0.1:$port/traffic";
}

# An env file that sets nothing, so no test reads the machine's own.
sub empty_env {
    my $path = tmpdir() . '/empty.env';
    spew($path, "# nothing\n", 0600) unless -f $path;
    return $path;
}

sub migrate { return ctl(['migrate'], @_) }

# Runs traffic-ctl with the test database; returns (exit code, output).
sub ctl {
    my ($args, %env) = @_;
    return run_cmd(["$BUILD/src/traffic-ctl", @$args],
        env => { TRAFFIC_ENV_FILE => empty_env(), DATABASE_URL => pg_url(),
            TRAFFIC_SQL_DIR => "$SRC/sql",
            # the tests' pools run as whoever runs the tests, not as the
            # package's user (which t/090 may create meanwhile)
            TRAFFIC_SERVICE_USER => scalar getpwuid($>), %env });
}

# ---- the pool and nginx ---------------------------------------------------

# Writes an env file for the service; returns its path.
# Writes an env file for the service (DATABASE_URL and SPOOL_DIR of the
# test, overridden or extended by %kv; undef removes a key); returns its path.
sub write_env {
    my (%kv) = @_;
    my $dir = tmpdir();
    my %all = (DATABASE_URL => pg_url(), SPOOL_DIR => "$dir/spool", %kv);
    my $path = "$dir/traffic.env";
    spew($path, "# test env\n" . join('', map { "$_=$all{$_}\n" }
        grep { defined $all{$_} } sort keys %all), 0600);
    return $path;
}

# The absolute path of a program on PATH (spawn-fcgi execs without a search).
sub which {
    my ($prog) = @_;
    for my $d (split /:/, "$ENV{PATH}:/usr/sbin:/usr/bin:/sbin:/bin") {
        return "$d/$prog" if -x "$d/$prog";
    }
    die "$prog not found on PATH\n";
}

sub _spawn {
    my ($cmd, $log, $env) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or die;
        open STDERR, '>&', \*STDOUT or die;
        %ENV = (%ENV, %{ $env || {} });
        exec @$cmd or die "exec: $!";
    }
    push @PIDS, $pid;
    return $pid;
}

# Starts the pool: spawn-fcgi opens the socket and hands it to
# "traffic-webhook --workers $n" (the supervisor); returns the socket path.
sub start_pool {
    my (%opt) = @_;
    my $dir = tmpdir();
    my $sock = "$dir/traffic-webhook.sock";
    my $env = $opt{env_file} || write_env();
    unlink $sock;
    my $n = $opt{workers} || 2;
    my $pid = _spawn([which('spawn-fcgi'), '-n', '-s', $sock, '-M', '0660',
        '--', "$BUILD/src/traffic-webhook", '--workers', $n], "$dir/pool.log",
        { TRAFFIC_ENV_FILE => $env, %{ $opt{env} || {} } });
    wait_for('the pool socket', sub { -S $sock });
    wait_for("the workers", sub { my @w = worker_pids($pid); @w >= $n });
    # the host's deliver sidecar: it sends what the workers stored (they
    # do no network work after answering), its lines in pool.log too
    my $side;
    $side = _spawn(["$BUILD/src/traffic-ctl", 'deliver', '--loop'],
        "$dir/pool.log", { TRAFFIC_ENV_FILE => $env, %{ $opt{env} || {} } })
        unless defined $opt{sidecar} && !$opt{sidecar};
    %POOL = (pid => $pid, sock => $sock, log => "$dir/pool.log",
        side => $side);
    $POOL_LOG = "$dir/pool.log";
    return $sock;
}

sub pool_pid { $POOL{pid} }
sub pool_sock { $POOL{sock} }

# The workers under the supervisor of pid $mw.
sub worker_pids {
    my ($mw) = @_;
    $mw ||= $POOL{pid};
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $comm, $ppid) = $line =~ /^(\d+) \((.*)\) \S (\d+)/ or next;
        push @kids, $pid if $ppid == $mw && $comm =~ /traffic-webhoo/;
    }
    return sort { $a <=> $b } @kids;
}

# Stops the pool's own sidecar (a test that runs its sidecars itself).
sub stop_pool_sidecar {
    stop_pid(delete $POOL{side}) if $POOL{side};
}

sub stop_pool {
    return unless $POOL{pid};
    stop_pid($POOL{side}) if $POOL{side};
    stop_pid($POOL{pid});
    %POOL = ();
}

sub pool_log { $POOL{log} && -f $POOL{log} ? slurp($POOL{log}) : '' }

sub stop_pid {
    my ($pid, $sig) = @_;
    return unless $pid && kill 0, $pid;
    kill $sig || 'TERM', $pid;
    my $until = time + 10;
    while (time < $until) {
        return if waitpid($pid, WNOHANG) == $pid || !kill 0, $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

# Starts nginx on a free port with the shipped snippet; returns the port.
sub start_nginx {
    my (%opt) = @_;
    my $dir = tmpdir();
    my $port = free_port();
    my $sock = $opt{sock} || $POOL{sock} or die "start the pool first";
    my $snippet = slurp("$SRC/nginx/traffic-webhook.conf");
    $snippet =~ s{unix:/run/traffic-webhook/traffic-webhook\.sock}{unix:$sock}g
        or die "the snippet has no fastcgi_pass to the default socket";
    # the secret's location logs at crit to the system's error log, the
    # webhook's to the system's access log: here
    $snippet =~ s{/var/log/nginx/error\.log}{$dir/nginx-error.log}g;
    $snippet =~ s{/var/log/nginx/access\.log}{$dir/nginx-access.log}g;
    $snippet = $opt{edit}->($snippet) if $opt{edit};
    spew("$dir/traffic-webhook.conf", $snippet);
    copy('/etc/nginx/fastcgi_params', "$dir/fastcgi_params")
        or die "copy fastcgi_params: $!";
    mkdir "$dir/nginx-tmp";
    my $user = $> == 0 ? "user root root;\n" : '';
    spew("$dir/nginx.conf", <<"CONF");
${user}worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log info;
events { worker_connections 1024; }
http {
    # the shipped http {} part: the log formats without the secret; the
    # vhost's own log in a stock vhost's format (the query included), as
    # in a stock Debian site
    include $SRC/nginx/traffic-webhook-http.conf;
    access_log $dir/nginx-access.log combined;
    client_body_temp_path $dir/nginx-tmp/body;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    proxy_temp_path $dir/nginx-tmp/proxy;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    scgi_temp_path $dir/nginx-tmp/scgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
        include $dir/traffic-webhook.conf;
    }
}
CONF
    my ($rc, $out) = run_cmd(['nginx', '-t', '-p', $dir, '-c',
        "$dir/nginx.conf"]);
    die "nginx -t failed: $out" if $rc;
    my $pid = _spawn(['nginx', '-p', $dir, '-c', "$dir/nginx.conf", '-g',
        'daemon off;'], "$dir/nginx-stderr.log");
    wait_for('nginx', sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Proto => 'tcp')
    });
    %NGINX = (pid => $pid, port => $port, dir => $dir);
    return $port;
}

sub nginx_error_log {
    my $f = "$NGINX{dir}/nginx-error.log";
    return -f $f ? slurp($f) : '';
}

# One HTTP request to nginx: returns the HTTP::Tiny response hash.
sub http {
    my ($method, $path, $body, %headers) = @_;
    my $ua = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
    return $ua->request($method, "http://127.0.0.1:$NGINX{port}$path", {
        headers => \%headers, defined $body ? (content => $body) : () });
}

# Parses a CGI-style answer ("Status: 200 OK\r\n...\r\n\r\nbody").
sub _cgi_answer {
    my ($text) = @_;
    my ($head, $body) = split /\r?\n\r?\n/, $text, 2;
    my ($status) = ($head // '') =~ /^Status: (\d+)/m;
    my %h = map { /^([^:]+):\s*(.*?)\r?$/ ? (lc $1 => $2) : () }
        split /\n/, $head // '';
    return { status => $status // 0, headers => \%h, content => $body // '',
        raw => $text };
}

# Sends a request straight to the pool's socket with cgi-fcgi.
sub cgi_fcgi {
    my ($sock, $method, $path, $body, %env) = @_;
    my ($rc, $out) = run_cmd(['cgi-fcgi', '-bind', '-connect', $sock],
        stdin => $body // '',
        env => { REQUEST_METHOD => $method, DOCUMENT_URI => $path,
            REQUEST_URI => $path, CONTENT_LENGTH => length($body // ''),
            CONTENT_TYPE => 'application/x-www-form-urlencoded', %env });
    return _cgi_answer($out);
}

# Runs src/traffic-webhook once as a CGI program (the operator's replay).
sub cgi_run {
    my ($body, %env) = @_;
    my $err = tmpdir() . "/cgi-stderr-$$.log";   # forked callers: one each
    unlink $err;
    my ($rc, $out) = run_cmd(["$BUILD/src/traffic-webhook"],
        stdin => $body, errfile => $err,
        env => { REQUEST_METHOD => 'POST',
            DOCUMENT_URI => '/webhook/amocrm/traffic',
            CONTENT_TYPE => 'application/x-www-form-urlencoded',
            CONTENT_LENGTH => length $body, %env });
    my $ans = _cgi_answer($out);
    $ans->{exit} = $rc;
    $ans->{stderr} = slurp($err);
    return $ans;
}

# POSTs the seed's won deal (spec example 01) as lead $id through nginx.
sub post_sale {
    my ($id, %headers) = @_;
    my $b = example('01-status-142-full.txt');
    $b =~ s/25123456/$id/g;
    return http('POST', '/webhook/amocrm/traffic', $b,
        'Content-Type' => 'application/x-www-form-urlencoded', %headers);
}

sub _uri {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

# A webhook body of one lead event, urlencoded as AmoCRM sends it: event
# (status, update, add, delete, restore; default status), id, and any of
# status_id, pipeline_id, price, name, updated_at, last_modified,
# utm_source, utm_campaign.
sub lead_form {
    my (%f) = @_;
    my $p = 'leads%5B' . ($f{event} // 'status') . '%5D%5B0%5D%5B';
    my @kv = ("${p}id%5D=$f{id}");
    for my $k (qw(name status_id pipeline_id price updated_at last_modified)) {
        push @kv, "$p$k%5D=" . _uri($f{$k}) if defined $f{$k};
    }
    my $i = 0;
    for my $k (qw(utm_source utm_campaign)) {
        next unless defined $f{$k};
        my $cf = "${p}custom_fields%5D%5B$i%5D%5B";
        push @kv, "${cf}name%5D=$k",
            "${cf}values%5D%5B0%5D%5Bvalue%5D=" . _uri($f{$k}),
            "${cf}code%5D=" . uc($k);
        $i++;
    }
    push @kv, 'account%5Bsubdomain%5D=onaiagencykz', 'account%5Bid%5D=31234567';
    return join '&', @kv;
}

# POSTs a urlencoded body to $path through nginx.
sub post_form {
    my ($path, $body) = @_;
    return http('POST', $path, $body,
        'Content-Type' => 'application/x-www-form-urlencoded');
}

# A lead as the AmoCRM API v4 answers it: id, and any of name, price,
# status_id, pipeline_id, updated_at, utm_source, utm_campaign.
sub api_lead {
    my (%f) = @_;
    my @cf = map { { field_id => 0, field_name => $_, field_code => uc $_,
        field_type => 'tracking_data', values => [{ value => $f{$_} }] } }
        grep { defined $f{$_} } qw(utm_source utm_campaign);
    return { id => $f{id} + 0, name => $f{name} // "Lead $f{id}",
        price => defined $f{price} ? $f{price} + 0 : 0,
        status_id => ($f{status_id} // 142) + 0,
        pipeline_id => ($f{pipeline_id} // 10418746) + 0,
        responsible_user_id => 8812345, updated_at => ($f{updated_at} // 0) + 0,
        is_deleted => JSON::PP::false,
        custom_fields_values => @cf ? \@cf : undef,
        _embedded => { tags => [], contacts => [] } };
}

# Runs $code->($k) for k = 0 .. $n-1 in $n children at once; returns the sum
# of what they returned (their failures).
sub in_parallel {
    my ($n, $code) = @_;
    my @kids;
    for my $k (0 .. $n - 1) {
        my $pid = fork // die "fork: $!";
        POSIX::_exit($code->($k) // 0) if !$pid;
        push @kids, $pid;
    }
    my $bad = 0;
    for (@kids) { waitpid($_, 0); $bad += $? >> 8 }
    return $bad;
}

sub example {
    my ($name) = @_;
    my $s = slurp(shared() . "/spec/examples/$name");
    $s =~ s/\s+\z//;
    return $s;
}

sub corpus_bodies {
    return sort glob(shared() . "/corpus/amocrm-captures/*.body");
}

# ---- the fake Telegram / AmoCRM API (t/lib/fake-api.py) -------------------

my %FAKE;

# Starts the fake API server; returns its base URL (http://127.0.0.1:PORT).
sub start_fake_api {
    my (%opt) = @_;
    my $dir = tmpdir();
    my $portfile = "$dir/fake-api.port";
    unlink $portfile;
    my $pid = _spawn(['python3', "$SRC/t/lib/fake-api.py", $portfile,
        $opt{fixtures} // ()], "$dir/fake-api.log");
    wait_for('the fake API', sub { -s $portfile });
    %FAKE = (pid => $pid, port => slurp($portfile) + 0);
    return "http://127.0.0.1:$FAKE{port}";
}

sub _fake {
    my ($method, $path, $doc) = @_;
    my $ua = HTTP::Tiny->new(timeout => 10);
    my $r = $ua->request($method, "http://127.0.0.1:$FAKE{port}$path",
        $doc ? { content => JSON::PP::encode_json($doc) } : {});
    die "fake API $path: $r->{status} $r->{content}\n" unless $r->{success};
    return JSON::PP::decode_json($r->{content});
}

# Scripts the next answers to requests whose path contains $match.
sub fake_queue {
    my ($match, @responses) = @_;
    _fake('POST', '/_control/queue', { match => $match,
        responses => \@responses });
}

# Answers every request matching $match with $response (undef: clear).
sub fake_default {
    my ($match, $response) = @_;
    _fake('POST', '/_control/default', { match => $match,
        response => $response });
}

sub fake_reset { _fake('POST', '/_control/reset') }

# Any control endpoint of the fake: POST /_control/$what with $doc.
sub fake_control { _fake('POST', "/_control/$_[0]", $_[1]) }

# Lets the requests held under $name (a response's "hold") go on.
sub fake_release { _fake('POST', '/_control/release', { name => $_[0] }) }

# How many requests each hold name keeps open now: { name => n }.
sub fake_held { _fake('GET', '/_control/held') }

# Sets the fake AmoCRM account's state (see t/lib/fake-api.py).
sub fake_amocrm { _fake('POST', '/_control/amocrm', {@_}) }

# The Bot API calls of a method (sendMessage, editMessageText), as
# sent_messages gives them.
sub telegram_calls {
    my ($method) = @_;
    return map { { %{ $_->{json} || {} }, time => $_->{time},
        path => $_->{path} } }
        grep { $_->{path} =~ m{/\Q$method\E$} } fake_requests();
}

# Every request the fake has seen, oldest first.
sub fake_requests { @{ _fake('GET', '/_control/requests') } }

# The sendMessage requests (their JSON bodies, with a "time" added).
sub sent_messages {
    return map { { %{ $_->{json} || {} }, time => $_->{time},
        path => $_->{path} } }
        grep { $_->{path} =~ m{/sendMessage$} } fake_requests();
}

my %DELIVER;

# Starts "traffic-ctl deliver --loop" (the sidecar); returns its pid.
# With log => NAME, another sidecar (a second host), logging to NAME in
# the test's directory and stopped with the test.
sub start_deliver {
    my (%opt) = @_;
    my $dir = tmpdir();
    my $log = "$dir/" . ($opt{log} // 'deliver.log');
    my $pid = _spawn(["$BUILD/src/traffic-ctl", 'deliver', '--loop'],
        $log, { TRAFFIC_ENV_FILE => $opt{env_file} || write_env(),
            %{ $opt{env} || {} } });
    wait_for('the sidecar', sub { -f $log && slurp($log) =~ /running/ });
    $DELIVER{pid} = $pid unless $opt{log};
    return $pid;
}

sub stop_deliver {
    stop_pid(delete $DELIVER{pid}) if $DELIVER{pid};
}

sub deliver_log {
    my $f = tmpdir() . '/deliver.log';
    return -f $f ? slurp($f) : '';
}

# Every test file that started nginx or the pool ends with their logs read:
# nothing at [alert] or [emerg] in nginx's, no sanitizer report in the
# pool's.  The check runs inside done_testing, as tests of the file.
sub _check_server_logs {
    unlike(nginx_error_log(), qr/\[(alert|emerg)\]/,
        'nginx logged nothing at [alert] or [emerg]') if $NGINX{dir};
    unlike(slurp($POOL_LOG), qr/AddressSanitizer|LeakSanitizer|runtime error:/,
        'the pool logged no sanitizer report') if $POOL_LOG && -f $POOL_LOG;
}

{
    no warnings 'redefine';
    my $done_testing = \&Test::Builder::done_testing;
    *Test::Builder::done_testing = sub {
        _check_server_logs();
        return $done_testing->(@_);
    };
}

END {
    # only the test's own process: a child it forked that dies must not
    # stop the cluster and the servers under the test
    return if $$ != $OWNER;
    # a die ("timed out waiting ...") leaves is_passing true, not $?
    my $ok = Test::More->builder->is_passing && $? == 0;
    kill 'TERM', $NGINX{pid} if $NGINX{pid};
    stop_pid($_) for reverse @PIDS;
    stop_pg('immediate') if %PG;
    if ($DIR) {
        if ($ok && !$ENV{TRAFFIC_KEEP}) {
            remove_tree($DIR);
        } else {
            diag("test directory kept: $DIR");
        }
    }
}

1;
