redirect "other@example.net";
redirect "other@example.net";
