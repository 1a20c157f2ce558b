require ["fileinto"];
/* bracketed
   comment */
if header :is "subject" text:
Quarterly report
.
{
  fileinto "Multiline";  # hash comment
}
