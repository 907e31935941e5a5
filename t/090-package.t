# The Debian package, as a sysadmin meets it: built from the tree
# (dpkg-buildpackage -us -uc, lintian without errors), installed with apt,
# its nginx files through nginx -t, its pool and sidecar started as their
# units would (no systemd here: the socket made as the .socket unit says,
# the commands run as their User=), the seed's deal through nginx, then
# purged with nothing of the install left but the database.
#
# It changes the machine (a package, a user): it runs as root when CI or
# TRAFFIC_PACKAGE is set, and never where a traffic-webhook package is
# installed already.
use strict;
use warnings;
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM SOMAXCONN);
use Test::More;
use lib 't/lib';
use TrafficTest;
use TrafficPackage;

plan skip_all => 'changes the machine: set TRAFFIC_PACKAGE=1 (CI does)'
    unless $ENV{CI} || $ENV{TRAFFIC_PACKAGE};
plan skip_all => 'needs root (dpkg -i)' if $> != 0;
package_lock();
my (undef, $state) = run_cmd(['dpkg-query', '-W', '-f=${Status}',
    'traffic-webhook']);
plan skip_all => 'a traffic-webhook package is installed here: not touched'
    if $state =~ /installed/ && $state !~ /not-installed|config-files/;

my ($rc, $out) = run_cmd([srcdir() . '/scripts/deps', 'package']);
is($rc, 0, 'the packaging tools') or diag($out);

# Built from a copy of the tree (dpkg-buildpackage writes beside it).
my $dir = tmpdir();
my ($deb, $log) = build_deb("$dir/pkg");
ok($deb && -f $deb, 'dpkg-buildpackage -us -uc -b: ' . ($deb // 'none'))
    or diag($log);
($rc, $out) = run_cmd(['lintian', '--allow-root', $deb]);
my @errors = grep { /^E: / } split /\n/, $out;
is(scalar @errors, 0, 'lintian: no error') or diag($out);
diag("lintian: $_") for grep { /^W: / } split /\n/, $out;

# Installed: what and where.
my $installed;
END {   # a test that stopped half-way still leaves the machine as it was
    run_cmd(['apt-get', 'purge', '-y', '-qq', 'traffic-webhook'],
        env => { DEBIAN_FRONTEND => 'noninteractive' }) if $installed;
}
($rc, $out) = run_cmd(['apt-get', 'install', '-y', '-qq', $deb],
    env => { DEBIAN_FRONTEND => 'noninteractive' });
$installed = 1;
is($rc, 0, 'apt-get install ./traffic-webhook_*.deb') or diag($out);
my (undef, $files) = run_cmd(['dpkg', '-L', 'traffic-webhook']);
my @files = grep { -f } split /\n/, $files;
cmp_ok(scalar @files, '>', 20, scalar(@files) . ' files installed');
for my $f (qw(/usr/bin/traffic-webhook /usr/bin/traffic-ctl
              /lib/systemd/system/traffic-webhook.socket
              /lib/systemd/system/traffic-webhook.service
              /lib/systemd/system/traffic-webhook-deliver.service
              /lib/systemd/system/traffic-webhook-prune.timer
              /etc/nginx/snippets/traffic-webhook.conf
              /etc/nginx/conf.d/traffic-webhook.conf
              /usr/share/traffic-webhook/sql/001_schema.sql)) {
    ok(-f $f, "installed: $f");
}
my @st = stat '/etc/traffic-webhook/traffic-webhook.env';
is(sprintf('%o', $st[2] & 07777) . ' ' . getgrgid($st[5]),
    '640 traffic-webhook', 'the env file: 0640, group traffic-webhook');
my (undef, $conf) = run_cmd(['dpkg-query', '-W', '-f=${Conffiles}',
    'traffic-webhook']);
unlike($conf, qr{/etc/traffic-webhook/traffic-webhook\.env}, 'not a conffile:'
    . ' made from the sample, never overwritten, so no upgrade stops at a'
    . ' prompt');
is(slurp('/etc/traffic-webhook/traffic-webhook.env'),
    slurp('/usr/share/traffic-webhook/contrib/traffic-webhook.env.sample'),
    'the sample\'s text');
like($conf, qr{/etc/nginx/snippets/traffic-webhook\.conf}, 'the snippet too');
ok(defined getpwnam('traffic-webhook'), 'the service user made');
@st = stat '/var/spool/traffic-webhook';
is(sprintf('%o', $st[2] & 07777) . ' ' . getpwuid($st[4]),
    '750 traffic-webhook', 'its spool: 0750, its own');
is(scalar(glob('/etc/systemd/system/*.wants/traffic-webhook*')), undef,
    'no unit enabled: nothing starts until configured');

# The installed nginx files through nginx -t, on a stock nginx.conf's http.
my $t = "$dir/nginx-t";
mkdir $t;
symlink '/etc/nginx/fastcgi_params', "$t/fastcgi_params";
run_cmd(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj',
    '/CN=api.example.com', '-days', '1', '-keyout', "$t/key.pem", '-out',
    "$t/cert.pem"]);
my $site = slurp('/usr/share/traffic-webhook/nginx/example-site.conf');
$site =~ s{/etc/ssl/certs/ssl-cert-snakeoil\.pem}{$t/cert.pem};
$site =~ s{/etc/ssl/private/ssl-cert-snakeoil\.key}{$t/key.pem};
$site =~ s{listen (\[::\]:)?(80|443)}{"listen 127.0.0.1:" . free_port()}ge;
spew("$t/site.conf", $site);
my $port = free_port();
spew("$t/nginx.conf", <<"CONF");
user root root;
pid $t/nginx.pid;
error_log $t/error.log info;
events {}
http {
    include /etc/nginx/mime.types;
    include /etc/nginx/conf.d/*.conf;
    access_log $t/access.log traffic_webhook;
    include $t/site.conf;
    server {
        listen 127.0.0.1:$port;
        include /etc/nginx/snippets/traffic-webhook.conf;
    }
}
CONF
($rc, $out) = run_cmd(['nginx', '-t', '-c', "$t/nginx.conf"]);
is($rc, 0, 'nginx -t: the installed snippet, http part and example site')
    or diag($out);

# The database, migrated as the service user.
start_pg();
my $envtext = slurp('/etc/traffic-webhook/traffic-webhook.env');
$envtext =~ s/^DATABASE_URL=.*$/DATABASE_URL=@{[pg_url()]}/m
    or $envtext .= 'DATABASE_URL=' . pg_url() . "\n";
spew('/etc/traffic-webhook/traffic-webhook.env', $envtext);
my %unit = map { $_ => unit_file("/lib/systemd/system/$_") }
    qw(traffic-webhook.service traffic-webhook-deliver.service
       traffic-webhook.socket);
sub unit_file {     # a unit's settings: key => [values]
    my %u;
    for (split /\n/, slurp($_[0])) {
        push @{ $u{$1} }, $2 if /^(\w+)=(.*)$/;
    }
    return \%u;
}
sub as_unit {       # a unit's command line as it would run it
    my ($u, $cmd) = @_;
    my %env = map { /^(\w+)=(.*)$/ } @{ $u->{Environment} || [] };
    $cmd =~ s/\$\{(\w+)\}/$env{$1}/g;
    return (['runuser', '-u', $u->{User}[0], '--', 'env',
        (map { "$_=$env{$_}" } sort keys %env), split / /, $cmd], \%env);
}
my ($cmd) = as_unit($unit{'traffic-webhook.service'},
    '/usr/bin/traffic-ctl migrate');
($rc, $out) = run_cmd($cmd, env => { TRAFFIC_SQL_DIR => undef });
is($rc, 0, 'traffic-ctl migrate as the service user, the installed SQL')
    or diag($out);
unlike($out, qr/NOTICE/, 'no stray NOTICE');

# ExecStartPre, then the pool on the socket the .socket unit describes.
my $s = $unit{'traffic-webhook.socket'};
($cmd) = as_unit($unit{'traffic-webhook.service'},
    $unit{'traffic-webhook.service'}{ExecStartPre}[0]);
($rc, $out) = run_cmd($cmd);
is($rc, 0, 'ExecStartPre (check --config-only) passes as the user')
    or diag($out);
my $sock = $s->{ListenStream}[0];
(my $run = $sock) =~ s{/[^/]+$}{};
mkdir $run, oct($s->{DirectoryMode}[0]);
unlink $sock;
my $listen = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $sock,
    Listen => SOMAXCONN) or die "listen $sock: $!";
chown scalar(getpwnam($s->{SocketUser}[0])),
    scalar(getgrnam($s->{SocketGroup}[0])), $sock;
chmod oct($s->{SocketMode}[0]), $sock;
($cmd) = as_unit($unit{'traffic-webhook.service'},
    $unit{'traffic-webhook.service'}{ExecStart}[0]);
# what the test started, stopped at its end whatever happens (a session
# each: runuser and what it runs)
my @pool;
sub stop_unit {
    my ($pid) = @_;
    kill 'TERM', -$pid;
    for (1 .. 100) {
        last if waitpid($pid, POSIX::WNOHANG()) == $pid;
        select(undef, undef, undef, 0.1);
    }
    kill 'KILL', -$pid;
    waitpid($pid, 0);
}
END { stop_unit($_) for @pool }
my $pool = fork // die;
if (!$pool) {
    POSIX::setsid();
    open STDIN, '<&', $listen or die;     # StandardInput=socket
    open STDOUT, '>>', "$dir/unit-pool.log";
    open STDERR, '>&', \*STDOUT;
    exec @$cmd or die;
}
close $listen;
push @pool, $pool;
($cmd) = as_unit($unit{'traffic-webhook-deliver.service'},
    $unit{'traffic-webhook-deliver.service'}{ExecStart}[0]);
my $side = fork // die;
if (!$side) {
    POSIX::setsid();
    open STDIN, '<', '/dev/null';
    open STDOUT, '>>', "$dir/unit-deliver.log";
    open STDERR, '>&', \*STDOUT;
    exec @$cmd or die;
}
push @pool, $side;
wait_for('the workers', sub { -s "$dir/unit-pool.log"
    && slurp("$dir/unit-pool.log") =~ /pool: 4 workers started/ });
my $ng = fork // die;
if (!$ng) {
    POSIX::setsid();
    exec 'nginx', '-c', "$t/nginx.conf", '-g', 'daemon off;' or die;
}
push @pool, $ng;
wait_for('nginx', sub { IO::Socket::INET->new("127.0.0.1:$port") });
my $ua = HTTP::Tiny->new(timeout => 10);
my $r = $ua->post("http://127.0.0.1:$port/webhook/amocrm/traffic", {
    content => example('01-status-142-full.txt'),
    headers => { 'Content-Type' => 'application/x-www-form-urlencoded' } });
is($r->{status}, 200, 'the seed\'s deal through nginx and the installed pool')
    or diag($r->{content});
is(psql("SELECT targetologist FROM all_sales_tracking WHERE lead_id ="
    . " 25123456"), 'Kenesary', 'stored, Kenesary\'s');
like(slurp("$dir/unit-pool.log"), qr/req=\S+ POST \/webhook\/amocrm\/traffic 200 /,
    'the worker said so');

# The one-shot replay (docs/operations.md) run as root: it becomes the service's user,
# so the spool entry it writes while the database is away is the
# service's, and the sidecar stores it (before, root's entry was set aside
# as unreadable and the sale never stored).
{
    local $ENV{TRAFFIC_SERVICE_USER};
    delete $ENV{TRAFFIC_SERVICE_USER};
    my $svc = (getpwnam('traffic-webhook'))[2];
    stop_pg('fast');
    my $body = example('01-status-142-full.txt');
    $body =~ s/25123456/25123499/g;
    my ($rc2, $out2) = run_cmd(['/usr/bin/traffic-webhook'], stdin => $body,
        env => { REQUEST_METHOD => 'POST', CONTENT_LENGTH => length($body),
            CONTENT_TYPE => 'application/x-www-form-urlencoded',
            DOCUMENT_URI => '/webhook/amocrm/traffic',
            TRAFFIC_ENV_FILE => '/etc/traffic-webhook/traffic-webhook.env' });
    like($out2, qr/"queued":true/, 'a replay as root, the database away:'
        . ' queued') or diag($out2);
    my @entries = glob('/var/spool/traffic-webhook/*.req');
    is(scalar @entries, 1, 'one spool entry');
    is(@entries ? (stat $entries[0])[4] : -1, $svc, 'the service user\'s,'
        . ' not root\'s');
    my $m = '/var/spool/traffic-webhook/.metrics';
    ok(!-e $m || (stat $m)[4] == $svc, 'and so is the metrics file');
    start_pg_again();
    ok(wait_for('the sidecar to store it', sub { psql("SELECT count(*) FROM"
        . " all_sales_tracking WHERE lead_id = 25123499") == 1 }, 30),
        'the sidecar stores it');
}
sub proc_field {     # a field of /proc/PID/status ("Uid": the real one)
    my ($pid, $key) = @_;
    my $st = eval { slurp("/proc/$pid/status") } // '';
    return $st =~ /^$key:\s*(\S+)/m ? $1 : undef;
}
sub session {       # the session a process is in (the units': their own)
    my $st = eval { slurp("/proc/$_[0]/stat") } // '';
    return $st =~ /\) \S+ \d+ \d+ (\d+)/ ? $1 : 0;
}
my @ours = grep { (proc_field($_, 'Name') // '') =~ /^traffic-(webhoo|ctl)/
    && (session($_) == $pool || session($_) == $side) }
    map { m{/proc/(\d+)$} } glob('/proc/[0-9]*');
my @pids = grep { (proc_field($_, 'Uid') // 0) == 0 } @ours;
cmp_ok(scalar @ours, '>=', 6, scalar(@ours) . ' processes: the supervisor,'
    . ' four workers, the sidecar');
is(scalar @pids, 0, 'no traffic-webhook process runs as root')
    or diag(join "\n", map { "$_: " . (proc_field($_, 'Name') // '?') . ' '
        . (proc_field($_, 'Uid') // '?') } @pids);
stop_unit($_) for $pool, $side, $ng;
@pool = ();

# An upgrade (the same package again): nothing stopped meanwhile, the new
# migrations applied by the postinst as the service user, what ran
# restarted; a removal stops the units.  No systemd runs here: the
# maintainer scripts' actions are read, the migration seen.
my $ctl = "$dir/control";
run_cmd(['dpkg-deb', '-e', $deb, $ctl]);
my %script = map { ($_ => -f "$ctl/$_" ? slurp("$ctl/$_") : '') }
    qw(preinst postinst prerm postrm);
unlike($script{preinst}, qr/deb-systemd-invoke\s+stop/,
    'the preinst stops no unit');
my ($cond, @stops) = ('');
for my $line (split /\n/, $script{prerm}) {
    $cond = $line if $line =~ /^\s*if /;
    push @stops, $cond if $line =~ /deb-systemd-invoke\s+stop/;
}
is(scalar(grep { !/remove/ } @stops), 0, 'the prerm stops units on removal'
    . ' only, never for an upgrade') or diag(join "\n", @stops);
like($script{postinst}, qr/try-restart traffic-webhook\.socket \\\n\s+traffic-webhook\.service traffic-webhook-deliver\.service \\\n\s+traffic-webhook-prune\.timer/,
    'the postinst restarts what was running, every unit');
like($script{prerm}, qr/"\$1" = remove.*deb-systemd-invoke stop traffic-webhook-prune\.timer/s,
    'a removal stops the units');
my ($newest, $newest_file) = (sort { $a->[0] cmp $b->[0] }
    map { m{/((\d{3})_[^/]+\.sql)$} ? [$2, $1] : () }
    glob(srcdir() . '/sql/*.sql'))[-1]->@*;
psql("DELETE FROM schema_migrations WHERE version = '$newest'");
($rc, $out) = run_cmd(['apt-get', 'install', '--reinstall', '-y', '-qq',
    $deb], env => { DEBIAN_FRONTEND => 'noninteractive' });
is($rc, 0, 'an upgrade (reinstall), no prompt') or diag($out);
like($out, qr/applied \Q$newest_file\E/,
    'its postinst applied the pending migration') or diag($out);
is(psql("SELECT count(*) FROM schema_migrations WHERE version = '$newest'"),
    1, 'the schema is current');
like(slurp('/etc/traffic-webhook/traffic-webhook.env'), qr/^DATABASE_URL=\S*\Q${\ pg_url()}\E/m,
    'the admin\'s env file kept as it was');

# Purged: nothing the install made is left, the database untouched.
($rc, $out) = run_cmd(['apt-get', 'purge', '-y', '-qq', 'traffic-webhook'],
    env => { DEBIAN_FRONTEND => 'noninteractive' });
is($rc, 0, 'apt-get purge') or diag($out);
$installed = 0;
is(join(' ', grep { -e } @files), '', 'every installed file gone');
ok(!-e $_, "gone: $_") for qw(/etc/traffic-webhook /var/spool/traffic-webhook
    /etc/nginx/snippets/traffic-webhook.conf /usr/share/traffic-webhook);
ok(!defined getpwnam('traffic-webhook'), 'the user gone');
ok(!defined getgrnam('traffic-webhook'), 'its group gone');
($rc, $out) = run_cmd(['dpkg-statoverride', '--list',
    '/etc/traffic-webhook/traffic-webhook.env']);
isnt($rc, 0, 'the env file\'s mode override gone');
is(psql("SELECT count(*) FROM all_sales_tracking"), 2, 'the sales stay');

# Purged while a request waits in the spool and a vhost still includes the
# snippet: the request and its owner kept, stubs that keep nginx -t (and
# every site's next reload) passing, and both said.
($rc, $out) = run_cmd(['apt-get', 'install', '-y', '-qq', $deb],
    env => { DEBIAN_FRONTEND => 'noninteractive' });
$installed = 1;
is($rc, 0, 'installed again') or diag($out);
my $entry = '/var/spool/traffic-webhook/00000000001800000000.000000000-1.req';
spew($entry, "traffic-webhook spool 1\n", 0600);
chown((getpwnam('traffic-webhook'))[2, 3], $entry);
my $vhost = '/etc/nginx/sites-enabled/traffic-webhook-test';
spew($vhost, "server {\n    listen 127.0.0.1:" . free_port() . ";\n"
    . "    access_log /dev/null traffic_webhook;\n"
    . "    include /etc/nginx/snippets/traffic-webhook.conf;\n}\n");
($rc, $out) = run_cmd(['nginx', '-t']);
is($rc, 0, 'nginx -t with a vhost including the snippet') or diag($out);
($rc, $out) = run_cmd(['apt-get', 'purge', '-y', '-qq', 'traffic-webhook'],
    env => { DEBIAN_FRONTEND => 'noninteractive' });
$installed = 0;
is($rc, 0, 'apt-get purge') or diag($out);
like($out, qr/1 spooled request\(s\) in \/var\/spool\/traffic-webhook .*kept/s,
    'purge says the waiting request is kept');
ok(-f $entry, 'the waiting request is still there');
ok(defined getpwnam('traffic-webhook'), 'with the user that owns it');
like($out, qr/nginx still refers to its snippet or log format/,
    'purge says nginx still refers to it');
($rc, $out) = run_cmd(['nginx', '-t']);
is($rc, 0, 'nginx -t still passes after the purge') or diag($out);
unlink $vhost, '/etc/nginx/snippets/traffic-webhook.conf',
    '/etc/nginx/conf.d/traffic-webhook.conf';
system('rm', '-rf', '/var/spool/traffic-webhook');
run_cmd(['deluser', '--system', '--quiet', 'traffic-webhook']);
run_cmd(['delgroup', '--system', '--quiet', 'traffic-webhook']);
ok(!defined getpwnam('traffic-webhook'), 'cleaned up by hand, as the'
    . ' message says');
done_testing();
