import { render } from 'preact';

render(<p>Отклик</p>, document.getElementById('app')!);
