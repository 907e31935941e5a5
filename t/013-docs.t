# The documentation keeps up with the code: every configuration key is in
# traffic-webhook.env(5) and the sample env file, every traffic-ctl command
# in traffic-ctl(8) and has --help, and "make install" installs the man
# pages, the SQL, the nginx snippet and both systemd units.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TrafficTest;

my $src = srcdir();
my @keys = slurp("$src/src/libtraffic/config.c") =~ /\[TR_CFG_\w+\]\s*=\s*\{"(\w+)"/g;
cmp_ok(scalar @keys, '>=', 28, 'the configuration keys are found');
my $env5 = slurp("$src/man/traffic-webhook.env.5");
my $sample = slurp("$src/contrib/traffic-webhook.env.sample");
my $readme = slurp("$src/README.md");
for my $k (@keys) {
    like($env5, qr/^\.B \Q$k\E$/m, "$k in traffic-webhook.env(5)");
    like($sample, qr/^#?\Q$k\E=/m, "$k in the sample env file");
    like($readme, qr/\Q$k\E/, "$k in the README");
}

my ($rc, $usage) = run_cmd([builddir() . '/src/traffic-ctl', '--help']);
my @cmds = $usage =~ /^  ([a-z-]+)\b/mg;
cmp_ok(scalar @cmds, '>=', 11, 'traffic-ctl lists its commands');
my $ctl8 = slurp("$src/man/traffic-ctl.8");
for my $c (@cmds) {
    like($ctl8, qr/^\.B[IR]? "?\Q$c\E\b/m, "$c in traffic-ctl(8)");
    my ($hrc, $help) = run_cmd([builddir() . '/src/traffic-ctl', $c, '--help']);
    is($hrc, 0, "traffic-ctl $c --help: exit 0");
    like($help, qr/^usage: traffic-ctl/m, "traffic-ctl $c --help: a usage");
}

my $dest = tmpdir() . '/dest';
($rc, my $out) = run_cmd(['make', '-C', builddir(), '-s', 'install',
    "DESTDIR=$dest"]);
is($rc, 0, 'make install') or diag($out);
my ($prefix) = grep { -d } map { "$dest$_" } '/usr/local', '/usr';
for my $f (qw(share/man/man8/traffic-webhook.8 share/man/man8/traffic-ctl.8
              share/man/man5/traffic-webhook.env.5 bin/traffic-webhook
              bin/traffic-ctl share/traffic-webhook/nginx/traffic-webhook.conf
              share/traffic-webhook/contrib/traffic-webhook.service
              share/traffic-webhook/contrib/traffic-webhook-deliver.service)) {
    ok(-f "$prefix/$f", "installed: $f");
}
my @sql = map { m{/([^/]+)$} } glob("$src/sql/*.sql");
ok(-f "$prefix/share/traffic-webhook/sql/$_", "installed: sql/$_") for @sql;
like(slurp("$prefix/share/traffic-webhook/contrib/traffic-webhook-deliver.service"),
    qr{^ExecStart=\S*/bin/traffic-ctl deliver --loop$}m,
    'the sidecar unit runs deliver --loop');
my $unit = slurp("$prefix/share/traffic-webhook/contrib/traffic-webhook.service");
like($unit, qr/-M 0660 -u traffic-webhook -g traffic-webhook/,
    'the pool runs as traffic-webhook, its socket not world-writable');
done_testing();
