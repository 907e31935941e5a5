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
my @keys = slurp("$src/src/libtraffic/base/config.c") =~ /\[TR_CFG_\w+\]\s*=\s*\{"(\w+)"/g;
cmp_ok(scalar @keys, '>=', 28, 'the configuration keys are found');
my $env5 = slurp("$src/man/traffic-webhook.env.5");
my $sample = slurp("$src/contrib/traffic-webhook.env.sample");
# the README and the docs it leads to
my $readme = join "\n", map { slurp($_) } "$src/README.md", glob("$src/docs/*.md");
for my $k (@keys) {
    like($env5, qr/^\.B \Q$k\E$/m, "$k in traffic-webhook.env(5)");
    like($sample, qr/^#?\Q$k\E=/m, "$k in the sample env file");
    like($readme, qr/\Q$k\E/, "$k in the README or docs/");
}

# The README is a front door: short, and every page it leads to exists and
# is led to.
my @readme = split /\n/, slurp("$src/README.md");
cmp_ok(scalar @readme, '<=', 200, 'the README: ' . scalar(@readme)
    . ' lines (200 at most)');
my %linked = map { $_ => 1 } slurp("$src/README.md") =~ /\]\((docs\/[\w-]+\.md)\)/g;
ok(-f "$src/$_", "the README's link $_ exists") for sort keys %linked;
my @docs = map { m{/(docs/[^/]+)$} } glob("$src/docs/*.md");
is(join(' ', grep { !$linked{$_} } @docs), '', 'every page of docs/ is'
    . ' linked from the README');
like(slurp("$src/debian/traffic-webhook.docs"), qr/^\Q$_\E$/m,
    "the package ships $_") for @docs;

# One version, debian/changelog's: the programs and the man pages say it.
my $version = changelog_version();
like((run_cmd([builddir() . "/src/$_", '--version']))[1], qr/^\Q$_ $version\E$/m,
    "$_ --version: $version, as debian/changelog") for qw(traffic-ctl traffic-webhook);
like(slurp("$src/$_"), qr/^\.TH \S+ \d \S+ "traffic-webhook \Q$version\E"/m,
    "$_: $version") for qw(man/traffic-webhook.8 man/traffic-ctl.8 man/traffic-webhook.env.5);

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
my @sql = map { m{/(sql/.+)$} ? $1 =~ s{^sql/}{}r : () }
    glob("$src/sql/*.sql"), glob("$src/sql/functions/*.sql");
ok(-f "$prefix/share/traffic-webhook/sql/$_", "installed: sql/$_") for @sql;
like(slurp("$prefix/share/traffic-webhook/contrib/traffic-webhook-deliver.service"),
    qr{^ExecStart=\S*/bin/traffic-ctl deliver --loop$}m,
    'the sidecar unit runs deliver --loop');
my $unit = slurp("$prefix/share/traffic-webhook/contrib/traffic-webhook.service");
like($unit, qr/^User=traffic-webhook$/m, 'the pool runs as traffic-webhook');
like($unit, qr{^ExecStartPre=\S*/bin/traffic-ctl check --config-only$}m,
    'after check --config-only');
like($unit, qr/^RestartPreventExitStatus=78$/m, 'not restarted on exit 78');
like(slurp("$prefix/share/traffic-webhook/contrib/traffic-webhook.socket"),
    qr/^SocketMode=0660\nDirectoryMode=0755$/m,
    'its socket not world-writable');
ok(-f "$prefix/share/traffic-webhook/contrib/traffic-webhook-prune.$_",
    "installed: the prune $_") for qw(service timer);
# every unit's hardening, as systemd scores it (lower is better)
SKIP: {
    skip 'no systemd-analyze', 3 unless -x '/usr/bin/systemd-analyze';
    for my $u (qw(traffic-webhook traffic-webhook-deliver
                  traffic-webhook-prune)) {
        my ($arc, $aout) = run_cmd(['systemd-analyze', 'security',
            '--offline=true', "$prefix/share/traffic-webhook/contrib/$u.service"]);
        my ($score) = $aout =~ /Overall exposure level for \S+: ([\d.]+)/;
        cmp_ok($score // 99, '<=', 3, "$u.service scores "
            . ($score // '?') . ' (3 or lower)') or diag($aout);
    }
}
($rc, $out) = run_cmd(['make', '-s', '-C', builddir(), 'uninstall',
    "DESTDIR=$dest"]);
is($rc, 0, 'make uninstall');
my @left = grep { -f } map { glob("$prefix/$_/*") } qw(bin share/traffic-webhook
    share/traffic-webhook/sql share/traffic-webhook/contrib);
is(scalar @left, 0, 'leaves no file') or diag("@left");
ok(!-e "$prefix/share/traffic-webhook", 'nor its folders');
done_testing();
