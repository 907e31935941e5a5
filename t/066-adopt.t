# Taking over the team's existing database (issue: the team's real
# database).  For each of the two shapes the old Node.js handler left
# (t/fixtures/predecessor, written from PREDECESSOR.md: duplicates, text
# ids, uuid ids, 'partial', 'organic', amounts 0, a trigger and five views,
# row level security): traffic-ctl migrate stops before changing anything
# and says table by table what differs; adopt --dry-run prints the plan and
# changes nothing; adopt converts and migrates; migrate again has nothing
# to do; every old row is in its table or in adopt_quarantine with the
# reason; the old columns and views stay.  Then, through nginx and the
# pool: an adopted lead's repeat is a duplicate, its price change and its
# reversal work as for any sale, and a new sale is stored.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my $P = 10418746;

my $nginx = 0;

# The count of rows of each of the three tables.
sub counts {
    my ($db) = @_;
    return { map { ($_ => psql_db($db, "SELECT count(*) FROM $_")) }
        qw(sales_notifications all_sales_tracking webhook_logs) };
}
sub psql_db {
    my ($db, $sql) = @_;
    my ($rc, $out) = run_cmd(['psql', '-X', '-q', '-A', '-t', '-v',
        'ON_ERROR_STOP=1', '-d', url_of($db), '-c', $sql]);
    die "psql: $out" if $rc;
    chomp $out;
    return $out;
}
sub url_of { (my $u = pg_url()) =~ s{///traffic\?}{///$_[0]?}; return $u }

for my $shape (qw(a b)) {
    my $db = "old_$shape";
    psql("CREATE DATABASE $db");
    my $url = url_of($db);
    my ($rc, $out) = run_cmd(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
        '-d', $url, '-f', srcdir() . "/t/fixtures/predecessor/shape-$shape.sql"]);
    is($rc, 0, "shape $shape: the old handler's tables loaded") or diag($out);
    my $before = counts($db);
    my @ids = split /\n/, psql_db($db, "SELECT lead_id::text FROM"
        . " all_sales_tracking ORDER BY 1");

    ($rc, $out) = ctl(['migrate'], DATABASE_URL => $url);
    isnt($rc, 0, "shape $shape: migrate refuses");
    like($out, qr/nothing was changed.*traffic-ctl adopt/s,
        "shape $shape: saying so, and what to run");
    like($out, qr/^  all_sales_tracking: column lead_id is text, not bigint$/m,
        "shape $shape: the text lead id named");
    like($out, qr/^  all_sales_tracking: 1 rows have a lead id that is not a number$/m,
        "shape $shape: the lead id typed by hand counted");
    like($out, qr/^  webhook_logs: 1 rows have a processing_status outside/m,
        "shape $shape: 'partial' counted");
    like($out, $shape eq 'a'
        ? qr/^  sales_notifications: 1 leads have more than one row$/m
        : qr/^  sales_notifications: column id is uuid, not bigint$/m,
        "shape $shape: " . ($shape eq 'a' ? 'the lead stored twice'
        : 'the uuid id'));
    is(psql_db($db, "SELECT to_regclass('schema_migrations') IS NULL AND"
        . " to_regclass('notification_outbox') IS NULL"), 't',
        "shape $shape: no table made");
    is_deeply(counts($db), $before, "shape $shape: no row changed");

    ($rc, $out) = ctl(['adopt', '--dry-run'], DATABASE_URL => $url);
    is($rc, 0, "shape $shape: adopt --dry-run") or diag($out);
    like($out, qr/^adopt: all_sales_tracking: lead_id made a bigint$/m,
        "shape $shape: the plan says what it would do");
    like($out, qr/^adopt: dry run: rolled back, nothing changed$/m,
        "shape $shape: and that it changed nothing");
    is(psql_db($db, "SELECT format_type(atttypid, atttypmod) FROM"
        . " pg_attribute WHERE attrelid = 'all_sales_tracking'::regclass AND"
        . " attname = 'lead_id'"), 'text', "shape $shape: lead_id still text");
    is(psql_db($db, "SELECT to_regclass('adopt_quarantine') IS NULL"), 't',
        "shape $shape: no quarantine made");
    is_deeply(counts($db), $before, "shape $shape: no row changed");

    ($rc, $out) = ctl(['adopt'], DATABASE_URL => $url);
    is($rc, 0, "shape $shape: adopt") or diag($out);
    like($out, qr/^adopt: done in \d+ ms/m, "shape $shape: timed");
    like($out, qr/^applied 015_adoption\.sql$/m, "shape $shape: then migrated");
    ($rc, $out) = ctl(['migrate'], DATABASE_URL => $url);
    like($out, qr/^schema is up to date/m, "shape $shape: migrate again:"
        . ' nothing to do');
    ($rc, $out) = ctl(['adopt', '--dry-run'], DATABASE_URL => $url);
    like($out, qr/^adopt: nothing to convert$/m, "shape $shape: adopt again:"
        . ' nothing to convert');

    my $after = counts($db);
    for my $t (sort keys %$before) {
        my $q = psql_db($db, "SELECT count(*) FROM adopt_quarantine WHERE"
            . " source_table = '$t' AND NOT kept");
        is($after->{$t} + $q, $before->{$t}, "shape $shape: $t: every old"
            . " row kept ($after->{$t}) or quarantined ($q)");
    }
    like(psql_db($db, "SELECT string_agg(reason, '; ' ORDER BY id) FROM"
        . " adopt_quarantine"), $shape eq 'a'
        ? qr/a second row of lead 70000002.*lead id "test-1" is not a number/
        : qr/no lead id.*lead id "manual test" is not a number/,
        "shape $shape: the quarantine says why");
    is(psql_db($db, "SELECT count(*) FROM adopt_quarantine WHERE original"
        . " ? 'lead_name'"), psql_db($db, "SELECT count(*) FROM"
        . " adopt_quarantine"), "shape $shape: with the whole original rows");
    my @now = split /\n/, psql_db($db, "SELECT lead_id::text FROM"
        . " all_sales_tracking ORDER BY 1");
    is_deeply(\@now, [grep { /^\d+$/ } @ids], "shape $shape: every numbered"
        . ' lead still on the dashboard');
    if ($shape eq 'a') {
        is(psql_db($db, "SELECT referrer || '|' || responsible_user_name FROM"
            . " all_sales_tracking WHERE lead_id = 70000001"),
            'https://fb.com|Manager One', 'shape a: the old columns stay');
        is(psql_db($db, "SELECT sales FROM utm_top_sources WHERE utm_source ="
            . " 'organic'"), 1, 'shape a: the old views work again');
        is(psql_db($db, "SELECT tgenabled FROM pg_trigger WHERE tgname ="
            . " 'all_sales_tracking_targetologist'"), 'D',
            'shape a: its attribution trigger disabled');
    } else {
        like(psql_db($db, "SELECT legacy_id::text || '|' || usd_to_kzt_rate"
            . " FROM all_sales_tracking WHERE lead_id = 71000001"),
            qr/^[0-9a-f-]{36}\|474\.2000$/, 'shape b: the uuid and the rate stay');
        is(psql_db($db, "SELECT relrowsecurity FROM pg_class WHERE relname ="
            . " 'all_sales_tracking'"), 't', 'shape b: row level security'
            . ' stays on');
    }
    like(psql_db($db, "SELECT error_message FROM webhook_logs WHERE"
        . " processing_status = 'error' ORDER BY id LIMIT 1"),
        qr/^partial \(the old handler\): telegram/, "shape $shape: 'partial'"
        . ' an error that says so');

    # The pool on the adopted database.
    my $first = $shape eq 'a' ? 70000001 : 71000001;
    my $third = $first + 2;
    my $env = write_env(DATABASE_URL => $url);
    start_pool(workers => 1, env_file => $env);
    start_nginx() unless $nginx++;
    ($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env, DATABASE_URL => $url);
    like($out, qr/^database: this role writes and reads a sale/m,
        "shape $shape: check: a sale can be written") or diag($out);
    unlike($out, qr/refuses sales/, "shape $shape: nothing refused");
    my $r = post_form('/webhook/amocrm/traffic', lead_form(id => $first,
        status_id => 142, pipeline_id => $P, price => 150000,
        updated_at => time - 300));
    like($r->{content}, qr/"duplicates":1/, "shape $shape: an adopted lead's"
        . ' repeat is a duplicate') or diag($r->{content});
    post_form('/webhook/amocrm/traffic', lead_form(event => 'update', id =>
        $first, status_id => 142, pipeline_id => $P, price => 160000,
        updated_at => time - 200));
    is(psql_db($db, "SELECT trim_scale(n.sale_amount) || '|' ||"
        . " trim_scale(t.sale_amount) FROM sales_notifications n JOIN"
        . " all_sales_tracking t USING (lead_id) WHERE lead_id = $first"),
        '160000|160000', "shape $shape: its price change in both tables");
    post_form('/webhook/amocrm/traffic', lead_form(id => $third,
        status_id => 143, pipeline_id => $P, updated_at => time - 100));
    is(psql_db($db, "SELECT sale_state FROM sales_notifications WHERE"
        . " lead_id = $third") . '|' . psql_db($db, "SELECT count(*) FROM"
        . " all_sales_tracking WHERE lead_id = $third"), 'reversed|0',
        "shape $shape: an adopted sale lost: reversed, off the dashboard");
    my $new = $first + 100;
    $r = post_form('/webhook/amocrm/traffic', lead_form(id => $new,
        status_id => 142, pipeline_id => $P, price => 5000,
        utm_campaign => 'tripwire_new'));
    like($r->{content}, qr/"processed":1/, "shape $shape: a new sale");
    is(psql_db($db, "SELECT count(*) FROM sales_notifications n JOIN"
        . " all_sales_tracking t USING (lead_id) WHERE lead_id = $new AND"
        . " t.targetologist = n.targetologist"), 1, "shape $shape: in both"
        . ' tables, the same targetologist');

    # what the old dashboard reads, on the rows we write
    is(psql_db($db, "SELECT (deal_data->>'id') || '|' || pipeline_id || '|'"
        . " || utm_campaign || '|' || (processed_at IS NOT NULL) FROM"
        . " webhook_logs WHERE lead_id = $new"), "$new|$P|tripwire_new|true",
        "shape $shape: the log viewer's columns filled for our row");
    post_form('/webhook/amocrm/traffic', lead_form(id => $new + 1,
        status_id => 142, pipeline_id => $P));
    is(psql_db($db, "SELECT sale_amount || '|' || sale_amount_known FROM"
        . " all_sales_tracking WHERE lead_id = $new + 1"), '0.00|false',
        "shape $shape: a sale without a price: 0 on the dashboard, known"
        . ' false');
    my $json = psql_db($db, "SELECT json_agg(json_build_object('sale_amount',"
        . " sale_amount::text)) FROM all_sales_tracking");
    my ($nrc, $sum) = run_cmd(['node', '-e', 'const r = JSON.parse(process'
        . '.argv[1]); console.log(r.reduce((s, x) => s + parseFloat('
        . 'x.sale_amount), 0))', $json]);
    chomp $sum;
    like($sum, qr/^\d+(\.\d+)?$/, "shape $shape: the dashboard's"
        . " parseFloat sum is a number ($sum), never NaN") or diag($sum);
    # docs/install.md's period query: sale_date is the sale's time, not midnight
    my $today = psql_db($db, "SELECT (now() AT TIME ZONE 'Asia/Almaty')::date");
    is(psql_db($db, "SELECT count(*) FROM all_sales_tracking WHERE lead_id ="
        . " $new AND sale_date >= '$today'::timestamp AT TIME ZONE"
        . " 'Asia/Almaty' AND sale_date < ('$today'::date + 1)::timestamp AT"
        . " TIME ZONE 'Asia/Almaty'"),
        1, "shape $shape: docs/install.md's query finds today's sale");
    is(psql_db($db, "SELECT count(*) FROM all_sales_tracking WHERE lead_id ="
        . " $new AND sale_date <= '$today'"), 0, "shape $shape: (the old"
        . " filter ending 'today' does not, as docs/install.md says)");
    stop_pool();
}
done_testing();
