# Unit tests of libtraffic's leads module (t/unit/test-leads.c, TAP).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-leads');
