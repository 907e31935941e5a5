# sql/007 (a sale's life) on a database that already has sales: its columns
# and tables arrive without rewriting the existing tables (their files stay
# the same), the existing sales become 'won' and their messages 'sale'
# messages, and the service then follows them like any other.
use strict;
use warnings;
use File::Copy qw(copy);
use lib 't/lib';
use Test::More;
use TrafficTest;

start_pg();
my $old = tmpdir() . '/sql-006';
mkdir $old or die;
mkdir "$old/functions" or die;
copy($_, $old) or die for grep { !/007_/ } glob(srcdir() . '/sql/00[1-6]_*.sql');
copy($_, "$old/functions") or die for glob(srcdir() . '/sql/functions/*.sql');
my ($rc, $out) = ctl(['migrate', '--sql-dir', $old]);
is($rc, 0, 'migrations 001-006 apply') or diag($out);
psql("INSERT INTO sales_notifications (lead_id, lead_name, sale_amount,"
    . " targetologist, pipeline_id, status_id, sale_date, notification_status)"
    . " VALUES (16000001, 'Old sale', 5000, 'Kenesary', 10418746, 142,"
    . " now() - interval '1 day', 'sent')");
psql("INSERT INTO all_sales_tracking (lead_id, lead_name, sale_amount,"
    . " targetologist, pipeline_id, status_id, sale_date, webhook_received_at)"
    . " VALUES (16000001, 'Old sale', 5000, 'Kenesary', 10418746, 142,"
    . " now() - interval '1 day', now() - interval '1 day')");
psql("INSERT INTO notification_outbox (sale_id, lead_id, chat_id, status,"
    . " telegram_message_id) SELECT id, lead_id, '-1001', 'sent', 77 FROM"
    . " sales_notifications");
psql("INSERT INTO webhook_logs (source, lead_id, processing_status) VALUES"
    . " ('amocrm_traffic', 16000001, 'success')");
my @tables = qw(sales_notifications all_sales_tracking webhook_logs
    notification_outbox);
my $files = sub { join ',', map { psql("SELECT pg_relation_filenode('$_')") }
    @tables };
my $before = $files->();

($rc, $out) = migrate();
is($rc, 0, 'migration 007 applies') or diag($out);
like($out, qr/applied 007_sale_life\.sql/, 'it is the one applied');
is($files->(), $before, 'no existing table was rewritten (same files)');
is(psql("SELECT sale_state || '|' || source FROM sales_notifications"),
    'won|amocrm_traffic', 'the existing sale is won');
is(psql("SELECT kind FROM notification_outbox"), 'sale',
    'its message is the sale\'s message');
is(psql("SELECT count(*) FROM sale_events"), 0, 'no event was made up');

# the service follows the old sale: lost, it leaves the dashboard
my $body = lead_form(event => 'status', id => 16000001, status_id => 143,
    pipeline_id => 10418746, updated_at => time);
($rc, $out) = run_cmd([builddir() . '/src/traffic-webhook'], stdin => $body,
    env => { TRAFFIC_ENV_FILE => write_env(), REQUEST_METHOD => 'POST',
        DOCUMENT_URI => '/webhook/amocrm/traffic', CONTENT_LENGTH =>
        length $body, CONTENT_TYPE => 'application/x-www-form-urlencoded' });
like($out, qr/"processed":1/, 'a loss of the old sale is processed');
is(psql("SELECT sale_state FROM sales_notifications"), 'reversed',
    'the old sale is reversed');
is(psql("SELECT count(*) FROM all_sales_tracking"), 0, 'out of the dashboard');
done_testing();
