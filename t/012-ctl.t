# traffic-ctl on a throwaway database: check, logs (the seed's debugging
# query), purge-lead (the seed's cleanup step), replay of saved bodies.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use utf8;
use Encode ();
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output);
use TrafficTest;

# durable as a server is by default: fsync on, synchronous_commit on
start_pg(durable => 1, settings => ['fsync = on']);
my ($rc, $out) = ctl(['check']);
is($rc, 1, 'check before migrating: fails');
my $n = () = glob(srcdir() . '/sql/[0-9][0-9][0-9]_*.sql');
like($out, qr/problem: $n migrations not applied: run traffic-ctl migrate/,
    'and says what to do');
($rc, $out) = migrate();
($rc, $out) = ctl(['check'], DATABASE_URL => pg_url() . '&password=hunter2',
    TELEGRAM_BOT_TOKEN => '123456:SECRET-token', WEBHOOK_SECRET =>
    'webhook-secret-0123456789');
is($rc, 0, 'check after migrating: passes') or diag($out);
like($out, qr/database: reachable, schema up to date/, 'says the schema is current');
unlike($out, qr/hunter2|SECRET-token|webhook-secret-0123456789/,
    'no secret printed');
like($out, qr/TELEGRAM_BOT_TOKEN=\*{8} \(set\)/, 'secrets shown as set');
like($out, qr/^database: a sale's commit is on disk before its 200 \(synchronous_commit on\)$/m,
    'says a sale is on disk before its 200');

# a database whose sessions would commit without the flush: the service's
# raise it themselves (every tr_store session: check's is one of them)
psql('ALTER DATABASE traffic SET synchronous_commit = off');
($rc, $out) = ctl(['check']);
is($rc, 0, 'synchronous_commit off for the database: check passes') or diag($out);
like($out, qr/^note: synchronous_commit is off for this database or role; the service's sessions commit with local, so a sale answered 200 is on disk$/m,
    'and says its sessions commit with local');
psql('ALTER DATABASE traffic RESET synchronous_commit');
# fsync off is the server's: a problem
psql('ALTER SYSTEM SET fsync = off');
psql('SELECT pg_reload_conf()');
wait_for('fsync off', sub { psql('SHOW fsync') eq 'off' });
($rc, $out) = ctl(['check']);
is($rc, 1, 'fsync off: check fails');
like($out, qr/^problem: PostgreSQL runs with fsync off: a crash of its machine can lose sales already answered 200, and the database with them: set fsync = on$/m,
    'and says why');
psql('ALTER SYSTEM RESET fsync');
psql('SELECT pg_reload_conf()');
wait_for('fsync on', sub { psql('SHOW fsync') eq 'on' });
($rc, $out) = ctl(['check'], DATABASE_URL =>
    'postgresql:///traffic?host=/nonexistent&user=traffic');
is($rc, 1, 'check with an unreachable database: fails');
like($out, qr/problem: connect to the database failed/, 'and says so');
($rc, $out) = ctl(['check'], AMOCRM_PIPELINE_ID => 'abc');
is($rc, 78, 'bad configuration: exit 78');
like($out, qr/^problem: AMOCRM_PIPELINE_ID: "abc" is not an integer/m,
    'naming the key');

# replay: the seed's test deal, a skipped body, a dry run
my $dir = tmpdir();
spew("$dir/sale.txt", example('01-status-142-full.txt') . "\n");
spew("$dir/skip.txt", example('04-status-skipped.txt'));
spew("$dir/dry.txt", example('03-update-142-cyrillic.txt'));
($rc, $out) = ctl(['replay', "$dir/sale.txt", "$dir/skip.txt"]);
is($rc, 0, 'replay: exit 0') or diag($out);
like($out, qr{sale\.txt: total=1 processed=1 .* leads=25123456:success},
    'the sale is processed');
unlike($out, qr/dry run/, 'a real run does not say it is a dry one');
like($out, qr{skip\.txt: total=2 processed=0 duplicates=0 skipped=2},
    'the other file is skipped');
($rc, $out) = ctl(['replay', '--dry-run', "$dir/dry.txt"]);
like($out, qr{^dry run, nothing written: \S*dry\.txt: total=1 processed=1 .*25123458:success}m,
    'dry run matches, and says it is one');

is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 25123458'),
    0, 'but writes nothing');
spew("$dir/bad.txt", 'a=%ZZ');
($rc, $out) = ctl(['replay', "$dir/bad.txt"]);
is($rc, 1, 'a bad file: exit 1');
like($out, qr/bad\.txt: error: pair 1: malformed percent-escape/, 'says why');

# message: the seed's message from the stored sale
($rc, $out) = ctl(['message', '25123456']);
is($rc, 0, 'message: exit 0') or diag($out);
like(Encode::decode('UTF-8', $out), qr/^🎉 НОВАЯ ПРОДАЖА!\n👑 Таргетолог: Kenesary\n👤 Клиент: Без имени\n💰 Сумма: 100,000 ₸\n📦 Продукт: Main Product \(VAMUS RM\)\n🏷️ Кампания: tripwire_dec20\n-- notification_status: disabled$/,
    'the seed\'s message (no client name without the AmoCRM API)');
($rc, $out) = ctl(['message', '999']);
is($rc, 1, 'message for an unknown lead: exit 1');
like($out, qr/no sale for lead 999/, 'says so');

# logs
($rc, $out) = ctl(['logs', '--limit', '2']);
is($rc, 0, 'logs: exit 0');
my @lines = split /\n/, $out;
is(scalar @lines, 4, 'header, two rows, count');
like($lines[0], qr/^received_utc\tsource\tevent_type\tlead_id\tstatus/,
    'columns of the seed\'s query');
($rc, $out) = ctl(['logs', '--status', 'skipped']);
like($out, qr/25123460\tskipped\t\tstatus_id 143 is not 142/,
    'filter by status shows the reason');
unlike($out, qr/\tsuccess\t/, 'and only that status');
($rc, $out) = ctl(['logs', '--lead', '25123456']);
like($out, qr/\(1 rows\)/, 'filter by lead');
($rc, $out) = ctl(['logs', '--limit', 'x']);
is($rc, 2, 'a bad flag: exit 2');

# purge-lead removes exactly that lead
($rc, $out) = ctl(['replay', "$dir/dry.txt"]);
($rc, $out) = ctl(['purge-lead', '25123456']);
is($rc, 0, 'purge-lead: exit 0');
like($out, qr/sales_notifications: 1 row removed/, 'says what it removed');
like($out, qr/webhook_logs: 1 row removed/, 'including the log');
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 25123456')
    . psql('SELECT count(*) FROM all_sales_tracking WHERE lead_id = 25123456')
    . psql('SELECT count(*) FROM webhook_logs WHERE lead_id = 25123456'),
    '000', 'the lead is gone from every table');
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 25123458'),
    1, 'the other lead stays');
($rc, $out) = ctl(['purge-lead', 'abc']);
is($rc, 2, 'purge-lead with a bad id: usage error');

# purge-lead knows every table that holds a lead: the tables the schema
# gives a lead_id column.  A short-format sale on the unified endpoint with
# Telegram configured fills each of them (a sale, its dashboard copy, its
# conversion, its message, its log row).
spew("$dir/short.txt", example('02-status-142-short.txt'));
($rc, $out) = ctl(['replay', '--unified', "$dir/short.txt"],
    TELEGRAM_BOT_TOKEN => '123456:purge-test', TELEGRAM_CHAT_IDS => '-100123');
my ($short) = $out =~ /leads=(\d+):success/;
ok($short, 'a unified sale without UTM: a sale and a conversion') or diag($out);
my @tables = split /\n/, psql("SELECT table_name FROM information_schema.columns"
    . " WHERE table_schema = 'public' AND column_name = 'lead_id' ORDER BY 1");
cmp_ok(scalar @tables, '>=', 5, "the schema's lead tables: @tables");
for my $t (@tables) {
    cmp_ok(psql("SELECT count(*) FROM $t WHERE lead_id = $short"), '>', 0,
        "$t holds the lead");
}
($rc, $out) = ctl(['purge-lead', $short]);
is($rc, 0, 'purge-lead of that lead: exit 0');
is_deeply([sort $out =~ /^(\w+): \d+ rows? removed$/mg], \@tables,
    'purge-lead names every table with a lead_id column');
for my $t (@tables) {
    is(psql("SELECT count(*) FROM $t WHERE lead_id = $short"), 0,
        "$t: the lead is gone");
}

for my $cmd (qw(check migrate logs purge-lead replay message)) {
    ($rc, $out) = ctl([$cmd, '--help']);
    ok($rc == 0 && $out =~ /^usage: traffic-ctl $cmd/, "$cmd --help");
}
($rc, $out) = ctl(['frobnicate']);
is($rc, 2, 'unknown command: exit 2');
# PostgreSQL 15: a role that does not own the database cannot create in
# public; migrate says how to fix it.
psql("CREATE ROLE plain_role LOGIN");
psql("CREATE DATABASE not_owned");
(my $url = pg_url()) =~ s{///traffic\?}{///not_owned?};
$url =~ s/user=traffic/user=plain_role/;
($rc, $out) = ctl(['migrate'], DATABASE_URL => $url);
is($rc, 1, 'migrate into a database the role does not own: fails');
like($out, qr/permission denied for schema public/, 'PostgreSQL\'s reason');
like($out, qr/createdb -O ROLE\), or as the owner: GRANT CREATE ON SCHEMA public TO ROLE/,
    'and what to do');
done_testing();
