-- Every alert and whether it is active (the metrics).
SELECT alert, active FROM traffic_alerts ORDER BY alert
