require ["fileinto", "imap4flags", "variables", "relational", "comparator-i;ascii-numeric"];
if header :count "ge" :comparator "i;ascii-numeric" "to" "2" {
  addflag "\\Flagged";
  fileinto :flags ["a"] "Lists/${1}";
} elsif anyof (not exists "x", size :over 10K) { discard; }
else { keep; }
