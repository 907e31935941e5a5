# A sysadmin's life with the package, piuparts-style, on this machine's
# Debian PostgreSQL cluster and nginx: the previous release (built from
# its commit) installed and set up, a sale; an unattended upgrade to this
# tree's package (no prompt, the schema brought up to date, what ran
# restarted), a sale; remove (the units stopped), purge (nothing left but
# what docs/install.md says is kept); nginx -t passing after every step.  Then
# the package's own test, debian/tests/install-verbatim, through
# autopkgtest: docs/install.md's install block run verbatim.
#
# No systemd runs here: /run/systemd/system is made for the test's
# length and debian/tests/systemctl stands in for systemctl, so the
# maintainer scripts' deb-systemd-invoke calls act on what runs.
#
# It changes the machine: it runs as root when CI or TRAFFIC_PACKAGE is
# set, one package test at a time, and leaves the machine as it found it.
use strict;
use warnings;
use HTTP::Tiny;
use Test::More;
use lib 't/lib';
use TrafficTest;
use TrafficPackage;

plan skip_all => 'changes the machine: set TRAFFIC_PACKAGE=1 (CI does)'
    unless $ENV{CI} || $ENV{TRAFFIC_PACKAGE};
plan skip_all => 'needs root (dpkg -i)' if $> != 0;
package_lock();
delete $ENV{TRAFFIC_SERVICE_USER};   # the package's user, as on a server
my (undef, $state) = run_cmd(['dpkg-query', '-W', '-f=${Status}',
    'traffic-webhook']);
plan skip_all => 'a traffic-webhook package is installed here: not touched'
    if $state =~ /installed/ && $state !~ /not-installed|config-files/;
plan skip_all => 'a traffic-webhook user exists here: not touched'
    if defined getpwnam('traffic-webhook');
my ($prev, $prev_version) = previous_release();
plan skip_all => 'no release before ' . changelog_version() . ' in this'
    . ' clone\'s history' unless $prev;

my ($rc, $out) = run_cmd([srcdir() . '/scripts/deps', 'run', 'package']);
is($rc, 0, 'the packaging tools') or diag($out);
my $dir = tmpdir();
my ($old) = build_deb("$dir/old", $prev);
ok($old, "the previous release built from $prev ($prev_version)")
    or BAIL_OUT('no previous package');
my ($new, $log) = build_deb("$dir/new");
ok($new, 'this tree\'s package built') or BAIL_OUT($log);

# The stand-ins for a booted server: systemd's directory, systemctl, the
# Debian cluster started as its unit would.
my $shim = "$dir/bin";
mkdir $shim;
run_cmd(['cp', srcdir() . '/debian/tests/systemctl', "$shim/systemctl"]);
chmod 0755, "$shim/systemctl";
my $units = "$dir/units";
my %env = (PATH => "$shim:$ENV{PATH}", SYSTEMCTL_SHIM_STATE => $units);
my $made_run = !-d '/run/systemd/system';
my (undef, $clusters) = run_cmd(['pg_lsclusters', '-h']);
my ($cluster, $pg_down) = $clusters =~ /^(\S+)\s+main\s+\d+\s+(\w+)/m;
my $made_cluster;
if (!$cluster) {    # a machine whose postgresql package made no cluster
    ($cluster) = sort { $b <=> $a } map { m{/(\d+)$} }
        glob('/usr/lib/postgresql/*');
    my ($rc, $out) = run_cmd(['pg_createcluster', $cluster, 'main']);
    is($rc, 0, "pg_createcluster $cluster main") or BAIL_OUT($out);
    ($made_cluster, $pg_down) = (1, 'down');
}
$pg_down = $pg_down ne 'online';
my $site = '/etc/nginx/sites-available/default';
my $site_text = slurp($site);
my $installed;
my $policy = '/usr/sbin/policy-rc.d';
END {
    return unless defined $units;
    run_cmd(["$shim/systemctl", 'stop-all'], env => \%env);
    rename("$policy.t091", $policy) if -e "$policy.t091";
    apt(['purge', 'traffic-webhook']) if $installed;
    spew($site, $site_text) if defined $site_text;
    unlink '/etc/nginx/snippets/traffic-webhook.conf',
        '/etc/nginx/conf.d/traffic-webhook.conf';
    run_cmd(['runuser', '-u', 'postgres', '--', 'dropdb', '--if-exists',
        'traffic']);
    run_cmd(['runuser', '-u', 'postgres', '--', 'dropuser', '--if-exists',
        'traffic-webhook']);
    rmdir '/run/systemd/system' if $made_run;
    run_cmd(['pg_ctlcluster', $cluster, 'main', 'stop']) if $pg_down;
    system('rm', '-rf', '/var/spool/traffic-webhook');
    run_cmd(['deluser', '--system', '--quiet', 'traffic-webhook']);
    run_cmd(['delgroup', '--system', '--quiet', 'traffic-webhook']);
}
($rc, $out) = $pg_down ? run_cmd(['pg_ctlcluster', $cluster, 'main',
    'start']) : (0, '');
is($rc, 0, "the Debian cluster $cluster/main runs") or diag($out);
run_cmd(['mkdir', '-p', '/run/systemd/system']) if $made_run;

# A server has no policy-rc.d; a container's denies every action, so that
# deb-systemd-invoke would do nothing: set aside for our apt runs only.
sub apt_server {   # apt runs dpkg with its own PATH (DPkg::Path): the shim's
    my ($args, %e) = @_;
    my $aside = -e $policy && rename($policy, "$policy.t091");
    my @r = apt(["-oDPkg::Path=$e{PATH}", @$args], %e);
    rename("$policy.t091", $policy) if $aside;
    return @r;
}

sub calls {
    my $c = -f "$units/calls.log" ? slurp("$units/calls.log") : '';
    unlink "$units/calls.log";
    return $c;
}
sub unit_pid {
    my $f = "$units/traffic-webhook.service.pid";
    return -f $f ? slurp($f) =~ /(\d+)/ && $1 : 0;
}
sub nginx_t {
    my ($when) = @_;
    my ($rc, $out) = run_cmd(['nginx', '-t']);
    is($rc, 0, "nginx -t passes $when") or diag($out);
}
my $ua = HTTP::Tiny->new(timeout => 10);
sub sale {
    my ($lead) = @_;
    (my $body = example('01-status-142-full.txt')) =~ s/25123456/$lead/g;
    my $r = $ua->post('http://127.0.0.1/webhook/amocrm/traffic', {
        content => $body, headers => { 'Content-Type' =>
            'application/x-www-form-urlencoded' } });
    return $r->{status} . ' ' . $r->{content};
}
sub stored {
    my ($sql) = @_;
    my (undef, $v) = run_cmd(['runuser', '-u', 'postgres', '--', 'psql',
        '-XAtq', '-d', 'traffic', '-c', $sql]);
    chomp $v;
    return $v;
}

# 1. The previous release, set up as its docs said, with the role named
# as the service's user (peer authentication).
($rc, $out) = apt_server(['install', $old], %env);
$installed = 1;
is($rc, 0, "apt-get install the previous release ($prev_version)")
    or diag($out);
run_cmd(['runuser', '-u', 'postgres', '--', 'createuser',
    'traffic-webhook']);
run_cmd(['runuser', '-u', 'postgres', '--', 'createdb', '-O',
    'traffic-webhook', 'traffic']);
my $envfile = '/etc/traffic-webhook/traffic-webhook.env';
my $admin = slurp($envfile);
$admin =~ s/^DATABASE_URL=.*$/DATABASE_URL=postgresql:\/\/\/traffic/m;
$admin .= "# the admin's own line\n";
spew($envfile, $admin);
($rc, $out) = run_cmd(['runuser', '-u', 'traffic-webhook', '--',
    'traffic-ctl', 'migrate']);
is($rc, 0, 'its migrations') or diag($out);
($rc, $out) = run_cmd(['systemctl', 'enable', '--now',
    'traffic-webhook.socket', 'traffic-webhook.service',
    'traffic-webhook-deliver.service', 'traffic-webhook-prune.timer'],
    env => \%env);
is($rc, 0, 'its units started') or diag($out);
$site_text =~ /^\tserver_name _;$/m or BAIL_OUT("$site: not Debian's");
(my $with = $site_text) =~ s/^\tserver_name _;$/\tserver_name _;\n\tinclude \/etc\/nginx\/snippets\/traffic-webhook.conf;/m;
spew($site, $with);
nginx_t('with the previous release');
run_cmd(['systemctl', 'reload', 'nginx'], env => \%env);
wait_for('the old pool', sub { sale(25123401) =~ /^200 / }, 20);
is(stored('SELECT count(*) FROM all_sales_tracking WHERE lead_id ='
    . ' 25123401'), 1, 'a sale stored by the previous release');
calls();

# 2. The unattended upgrade to this tree's package.
my $old_pool = unit_pid();
ok($old_pool, "the old pool runs ($old_pool)");
stored("DELETE FROM schema_migrations WHERE version = (SELECT max(version)"
    . " FROM schema_migrations)") if $prev_version eq changelog_version();
($rc, $out) = apt_server(['install', $new], %env);
is($rc, 0, 'apt-get install this package over it: exit 0') or diag($out);
unlike($out, qr/conffile|Configuration file/i, 'no conffile prompt');
my $calls = calls();
like($calls, qr/try-restart traffic-webhook\.socket traffic-webhook\.service traffic-webhook-deliver\.service traffic-webhook-prune\.timer/,
    'the postinst restarted every unit that ran') or diag($calls);
unlike($calls, qr/^systemctl (--\S+ )*stop/m, 'nothing stopped meanwhile')
    or diag($calls);
my $pool = unit_pid();
ok($pool && $pool != $old_pool && kill(0, $pool), "a new pool runs ($pool)");
my (undef, $test) = run_cmd(['curl', '-s',
    'http://127.0.0.1/webhook/amocrm/traffic/test']);
my $v = changelog_version();
like($test, qr/"version":"\Q$v\E".*"migrations":"current"/,
    "/test: version $v, migrations current") or diag($test);
is(stored('SELECT max(version) FROM schema_migrations'),
    (sort map { m{/(\d+)_[^/]+\.sql$} } glob(srcdir() . '/sql/*.sql'))[-1],
    'the schema is this tree\'s newest migration');
is(slurp($envfile), $admin, 'the admin\'s env file kept, byte for byte');
my (undef, $conf) = run_cmd(['dpkg-query', '-W', '-f=${Conffiles}',
    'traffic-webhook']);
unlike($conf, qr{traffic-webhook\.env [0-9a-f]+$}m,
    'the env file is no longer a live conffile');
nginx_t('after the upgrade');
like(sale(25123402), qr/^200 /, 'a sale through the upgraded pool');
is(stored('SELECT count(*) FROM all_sales_tracking WHERE lead_id IN'
    . ' (25123401, 25123402)'), 2, 'both sales stored');
my @spooled = glob('/var/spool/traffic-webhook/*.req');
is(scalar @spooled, 0, 'nothing waits in the spool: no sale lost');

# 3. Remove: the units stopped, nginx still fine.
($rc, $out) = apt_server(['remove', 'traffic-webhook'], %env);
is($rc, 0, 'apt-get remove') or diag($out);
like(calls(), qr/stop traffic-webhook-prune\.timer traffic-webhook-deliver\.service traffic-webhook\.service traffic-webhook\.socket/,
    'the prerm stopped the units');
ok(!kill(0, $pool), 'the pool ended');
nginx_t('after remove');

# 4. Purge with the vhost still including the snippet.
($rc, $out) = apt_server(['purge', 'traffic-webhook'], %env);
$installed = 0;
is($rc, 0, 'apt-get purge') or diag($out);
like($out, qr/nginx still refers to its snippet/, 'purge says nginx still'
    . ' refers to the snippet');
nginx_t('after purge');
ok(!-e $_, "gone: $_") for qw(/etc/traffic-webhook /var/spool/traffic-webhook
    /usr/share/traffic-webhook /usr/bin/traffic-webhook /usr/bin/traffic-ctl
    /lib/systemd/system/traffic-webhook.service);
ok(!defined getpwnam('traffic-webhook'), 'the user gone');
is(stored('SELECT count(*) FROM all_sales_tracking'), 2,
    'the database is the admin\'s: both sales kept');
like(slurp('/etc/nginx/snippets/traffic-webhook.conf'), qr/was purged/,
    'what is left is the stub docs/install.md names');

# 5. The package's own test: docs/install.md's block, verbatim.
spew($site, $site_text);
unlink '/etc/nginx/snippets/traffic-webhook.conf',
    '/etc/nginx/conf.d/traffic-webhook.conf';
run_cmd(['runuser', '-u', 'postgres', '--', 'dropdb', 'traffic']);
run_cmd(['runuser', '-u', 'postgres', '--', 'dropuser', 'traffic-webhook']);
run_cmd(["$shim/systemctl", 'stop-all'], env => \%env);
rmdir '/run/systemd/system' if $made_run;
($rc, $out) = run_cmd(['autopkgtest', $new, "$dir/new/traffic-webhook",
    '--', 'null']);
$installed = 1;
like($out, qr/^install-verbatim\s+PASS/m,
    'autopkgtest: install-verbatim PASS')
    or diag(substr($out, -4000));
done_testing();
