require "fileinto";
if header :is "subject" "nope" {
  fileinto "A";
} elsif header :contains "subject" "report" {
  fileinto "B";
} else {
  fileinto "C";
}
