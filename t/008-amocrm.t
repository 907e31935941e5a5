# Unit tests of libtraffic's AmoCRM API reader (t/unit/test-amocrm.c, TAP).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-amocrm');
