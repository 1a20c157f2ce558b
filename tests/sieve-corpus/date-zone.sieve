require ["date", "fileinto"];
if date :zone "+0000" "date" "hour" "19" { fileinto "UTC19"; }
if date :originalzone "date" "hour" "14" { fileinto "Orig14"; }
if date :originalzone "date" "zone" "-0500" { fileinto "ZoneM5"; }
if date :zone "+0100" "date" "iso8601" "2026-12-03T20:30:00+01:00" { fileinto "Iso"; }
