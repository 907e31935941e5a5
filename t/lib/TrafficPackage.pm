package TrafficPackage;
# What the package tests (t/090, t/091) share: one of them at a time on
# the machine (they install the same package), the package built from a
# tree or from a commit, the release before this one, apt.
use strict;
use warnings;
use Exporter 'import';
use Fcntl qw(:flock);
use TrafficTest;

our @EXPORT = qw(package_lock build_deb previous_release apt);

my $LOCK;

# Waits until no other package test runs here; held until the test ends.
sub package_lock {
    open($LOCK, '>>', '/run/lock/traffic-webhook-package-test.lock')
        or die "lock: $!";
    flock($LOCK, LOCK_EX) or die "flock: $!";
}

# The .deb built (dpkg-buildpackage -us -uc -b) from the work tree as it is
# (tracked and new files), or from COMMIT's tree: its path, or undef and
# the build's tail.
sub build_deb {
    my ($dir, $commit) = @_;
    my $src = "$dir/traffic-webhook";
    mkdir $dir;
    my ($rc, $out) = $commit
        ? run_cmd(['sh', '-c', 'mkdir -p "$2" && git -C "$0" archive "$1" |'
            . ' tar -xf - -C "$2"', srcdir(), $commit, $src])
        : run_cmd(['sh', '-c', 'cd "$0" && git ls-files -co --exclude-standard'
            . ' | tar -cf - -T - | (mkdir -p "$1" && cd "$1" && tar -xf -)',
            srcdir(), $src]);
    return (undef, $out) if $rc != 0;
    ($rc, $out) = run_cmd(['sh', '-c', 'cd "$0" && dpkg-buildpackage -us -uc'
        . ' -b', $src]);
    return (undef, substr($out, -3000)) if $rc != 0;
    my ($deb) = glob("$dir/traffic-webhook_*_*.deb");
    return ($deb, $out);
}

# The newest commit whose debian/changelog names the release before this
# one (the parent of the commit that added this version's entry), and
# that version; () when the history does not reach it.
sub previous_release {
    my $cur = changelog_version();
    my (undef, $log) = run_cmd(['git', '-C', srcdir(), 'log', '--format=%H',
        '--', 'debian/changelog']);
    for my $c (split /\n/, $log) {
        my ($rc, $text) = run_cmd(['git', '-C', srcdir(), 'show',
            "$c^:debian/changelog"]);
        return () if $rc != 0;
        my ($v) = $text =~ /^\S+ \(([^)]+)\)/;
        return ("$c^", $v) if defined $v && $v ne $cur;
    }
    return ();
}

# apt-get as an unattended upgrade runs it: no terminal, no --force-conf*.
sub apt {
    my ($args, %env) = @_;
    return run_cmd(['apt-get', '-y', '-q', @$args], stdin => '',
        env => { DEBIAN_FRONTEND => 'noninteractive', %env });
}

1;
