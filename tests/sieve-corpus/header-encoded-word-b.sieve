require "fileinto";
if header :contains "subject" "Grüße" { fileinto "Gruss"; }
if header :contains "from" "Jürgen" { fileinto "Juergen"; }
