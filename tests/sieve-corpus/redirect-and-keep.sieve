redirect "other@example.net";
keep;
