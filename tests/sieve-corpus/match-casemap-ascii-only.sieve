require "fileinto";
if header :is "subject" "GRÜSSE AUS MÜNCHEN" { fileinto "Wrong"; }
if header :contains "subject" "GRÜ" { fileinto "Wrong2"; }
if header :contains "subject" "AUS M" { fileinto "Ascii"; }
